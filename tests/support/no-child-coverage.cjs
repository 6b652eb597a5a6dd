/**
 * Child processes spawned by tests (SIGKILL crash children, cluster workers, `sop` CLI runs) do
 * not write V8 coverage: c8 merges their tsx-transformed coverage wrongly with this process's
 * and reports lines as uncovered that ran thousands of times (found when the CLI tests made the
 * total drop below the threshold). Coverage is measured in the mocha process itself. Node read
 * NODE_V8_COVERAGE for this process at start-up; removing it here only affects children.
 */
delete process.env.NODE_V8_COVERAGE;
