/* Preloaded (LD_PRELOAD) into nodes that also preload libfaketime: malloc and its family go to glibc's allocator
   instead of the jemalloc the executable links, which libfaketime cannot initialize beside (jemalloc reads the
   clock while starting, inside libfaketime's own start). Nothing to call: the library works by being loaded. */
#ifndef CRUCIBLE_GLIBC_MALLOC_H
#define CRUCIBLE_GLIBC_MALLOC_H
#endif
