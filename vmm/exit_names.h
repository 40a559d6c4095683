/*
 * vmm/exit_names.h - names of the neutral exit kinds (vmm/exit_names.c).
 */
#ifndef HAKO_EXIT_NAMES_H
#define HAKO_EXIT_NAMES_H

#include "vmm/exit.h"

/* The short name `stats` prints for an exit kind ("cpuid", "port-io", ...), or "?". */
const char *exit_kind_name(enum exit_kind k);

#endif
