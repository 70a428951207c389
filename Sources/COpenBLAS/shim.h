// The OpenBLAS C interface (Debian: libopenblas-dev).
#pragma once
#include <cblas.h>
