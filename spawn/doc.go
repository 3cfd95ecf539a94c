// Package spawn lets Python start Go workers, and Go start Python workers,
// through multiprocessing's own spawn start method, so that queues, locks,
// events and pipe ends pass as Process arguments exactly as they do between
// Python processes.
//
// # Python parent, Go children
//
// A Go worker registers functions under the Python names of the targets
// they stand for and calls [Run] first thing in main:
//
//	func main() {
//		spawn.Register("tasks.resize", resize)
//		spawn.Run() // serves a multiprocessing invocation and exits
//		// ... not started by multiprocessing: the program's normal work
//	}
//
// The Python parent points the spawn context at the binary:
//
//	ctx = multiprocessing.get_context('spawn')
//	ctx.set_executable('/path/to/worker')
//	p = ctx.Process(target=tasks.resize, args=(q, results)); p.start(); p.join()
//
// CPython runs the executable with the command line of
// multiprocessing.spawn.get_command_line ([ParseCommandLine]) and writes two
// pickles to the child's pipe: the preparation data ([Preparation]) and the
// process object ([ProcessObject]). Run decodes both, rebuilds the
// arguments (see [Rebuild]), runs the registered function and exits as a
// Python child does: 0 on success; 1 with a "Process NAME:" traceback-like
// report on stderr for an error or a panic; the code of an [ExitError]
// ([Exit]). SIGTERM keeps its default action, so terminate() gives exitcode
// -15 as for a Python child. An argument the Go side cannot rebuild (a
// sharedctypes Value, a Barrier) ends the child with status 1 and a message
// naming it ([UnsupportedError]).
//
// A target that is not registered is handed to the real interpreter: Run
// execs it with a spawn_main equivalent that reads the two pickles already
// consumed from a replay descriptor (a memfd) and keeps the parent's pipe as
// the parent sentinel, so one set_executable serves Go and Python targets
// alike. CPython also starts its resource tracker and fork server through
// the spawn executable; those invocations are handed over unchanged. The
// interpreter is the parent's own (/proc/PPID/exe), overridable with
// $MPBRIDGE_PYTHON ([PythonEnv]) or [Options].Python. Only the spawn start
// method runs Go code: forkserver children are forks of the Python fork
// server.
//
// # Go parent, Python children
//
// [Start] starts a stock interpreter with the spawn command line and writes
// the pickles CPython would write, so the target receives genuine
// multiprocessing objects built on the Go side's pipes and semaphores.
// [Child] has Wait, ExitCode, Terminate and Kill. The Go parent plays the
// resource tracker for its children ([Tracker]): semaphores a child
// creates and leaks are unlinked when the parent is done with it.
package spawn
