// zlib's C interface (Debian: zlib1g-dev): PNG images and compressed model files.
#pragma once
#include <zlib.h>
