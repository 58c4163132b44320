#ifndef TERN_KERNELS_H
#define TERN_KERNELS_H
// Umbrella header of the CTernary target: every public C header of the kernel engine.
#include "tern_cpu.h"
#include "tern_pool.h"
#include "tern_float.h"
#include "tern_quant.h"
#include "tern_ternary.h"
#include "tern_hash.h"
#endif
