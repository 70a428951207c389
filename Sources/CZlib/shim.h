// zlib's C interface (Debian: zlib1g-dev), for compressing model files.
#pragma once
#include <zlib.h>
