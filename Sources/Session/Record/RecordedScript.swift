import Hypervisor

extension ScriptRunner {
    /// Runs a script on `engine` while recording it to `recordPath` (`xkv run --record FILE`):
    /// the header names the images and configs the script's `create` lines use, and the
    /// record ends with the end of every domain still alive (`engine.shutdownAll()`), as a
    /// replay will. Returns the number of failed commands.
    public func runRecording(_ text: String, file: String, engine: Engine, to recordPath: String,
                             output: (String) -> Void, errors: (String) -> Void) throws(RecordError) -> Int {
        let recorder = try SessionRecorder(path: recordPath)
        recorder.attach(to: engine, header: .scanning(script: text, file: file))
        var runner = self
        runner.recorder = recorder
        let failures = runner.run(text, file: file, executor: Executor(engine: engine), output: output, errors: errors)
        engine.shutdownAll()
        // The observers stay (other threads may read them); a closed recorder drops events.
        if let error = recorder.close() { throw error }
        return failures
    }
}
