// The disk-fault preload library has no API: it replaces write, pwrite, writev, pwritev, ftruncate, fsync and
// fdatasync for the process it is preloaded into (see disk_fault.c). This header only gives the target a module.
