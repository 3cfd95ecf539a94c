package main

import "github.com/mpbridge/mpbridge/manager"

// Every SyncManager typeid is served by default, so `mpbridge serve` alone
// is a drop-in for the server process multiprocessing.Manager() starts.
func init() { serveDefaults = append(serveDefaults, manager.RegisterSyncManagerTypes) }
