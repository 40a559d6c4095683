/*
 * vmm/msr.h - a guest's RDMSR and WRMSR, carried out (vmm/msr.c).
 */
#ifndef HAKO_MSR_H
#define HAKO_MSR_H

#include <stdint.h>

struct vcpu;

/* 0 with *val, or -1: the guest gets #GP(0) (an MSR it may not read). */
int msr_read(struct vcpu *v, uint32_t index, uint64_t *val);
/* 0, or -1: #GP(0) (an MSR it may not write, or a value it may not hold). */
int msr_write(struct vcpu *v, uint32_t index, uint64_t val);

#endif
