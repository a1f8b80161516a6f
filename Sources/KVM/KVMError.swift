import Glibc

/// A failure in the KVM layer: which operation failed, the errno, and what to do about it.
public struct KVMError: Error, CustomStringConvertible, Sendable {
    /// The KVM operation or system call that failed (`KVM_CREATE_VM`, `open /dev/kvm`, ...).
    public let operation: String
    /// The errno it failed with, if any.
    public let errno: Int32?
    /// What went wrong and, for set-up failures, how to fix it.
    public let message: String

    public init(operation: String, errno: Int32? = nil, message: String) {
        self.operation = operation
        self.errno = errno
        self.message = message
    }

    /// An ioctl that failed with the current errno.
    static func ioctl(_ name: String, errno: Int32 = Glibc.errno) -> KVMError {
        KVMError(operation: name, errno: errno, message: "\(name) failed: \(String(cString: strerror(errno)))")
    }

    public var description: String { message }
}
