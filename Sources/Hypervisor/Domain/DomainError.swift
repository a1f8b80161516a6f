import KVM

/// Why a domain could not be created or a command on it failed.
public enum DomainError: Error, CustomStringConvertible, Sendable, Equatable {
    case badImage(String)
    case tooLittleMemory(String)
    case hostCannotGive(String)
    case unknownDomain(String)
    case nameInUse(String)
    case invalidState(String)
    case unsupported(String)
    case kvm(String)

    public var description: String {
        switch self {
        case .badImage(let m), .tooLittleMemory(let m), .hostCannotGive(let m), .invalidState(let m),
             .unsupported(let m), .kvm(let m):
            return m
        case .unknownDomain(let name): return "no domain '\(name)'"
        case .nameInUse(let name): return "a domain named '\(name)' already exists"
        }
    }

    static func from(_ error: KVMError) -> DomainError { .kvm(error.message) }
}
