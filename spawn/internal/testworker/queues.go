package main

// registerQueueTargets registers the targets that take queues, once the
// mpqueue package can rebuild them.
func registerQueueTargets() {}
