// Image codecs for AerieImaging: thin C wrappers over Debian's libjpeg-turbo, libpng, libwebp and libexif.
// They live in C because libjpeg reports errors with longjmp, which Swift cannot catch; each call turns every
// error (and every libjpeg warning: a truncated or corrupt file only warns there) into a non-zero return and
// a message in `message`.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// The dimensions in the header, without decoding the pixels (0 on success).
int aerie_jpeg_probe(const uint8_t *data, size_t size, int *width, int *height, char *message, size_t message_size);
/// Decodes the whole image into `rgb` (width × height × 3 bytes, from a probe); any warning is an error (0 on success).
int aerie_jpeg_decode(const uint8_t *data, size_t size, uint8_t *rgb, int width, int height, char *message, size_t message_size);
/// Encodes RGB8 pixels as a baseline JPEG; `*out` is allocated with malloc (release it with aerie_codec_free).
int aerie_jpeg_encode(const uint8_t *rgb, int width, int height, int quality, uint8_t **out, size_t *out_size,
                      char *message, size_t message_size);

int aerie_png_probe(const uint8_t *data, size_t size, int *width, int *height, char *message, size_t message_size);
/// Decodes into RGB8; transparency is composed onto white.
int aerie_png_decode(const uint8_t *data, size_t size, uint8_t *rgb, int width, int height, char *message, size_t message_size);

int aerie_webp_probe(const uint8_t *data, size_t size, int *width, int *height, char *message, size_t message_size);
int aerie_webp_decode(const uint8_t *data, size_t size, uint8_t *rgb, int width, int height, char *message, size_t message_size);

/// The EXIF orientation (1–8) of a JPEG's Exif segment, 1 when there is none or it is unreadable.
int aerie_exif_orientation(const uint8_t *data, size_t size);
/// A copy of the JPEG without location: the GPS directory is removed from its Exif segment (the rest of the
/// Exif data is kept) and XMP segments are dropped. Returns 0 and a malloc'd copy, or non-zero for a file that
/// is not a well-formed JPEG up to its first scan.
int aerie_jpeg_strip_location(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size);
/// Whether the JPEG's Exif data has a GPS directory with at least one entry.
int aerie_jpeg_has_location(const uint8_t *data, size_t size);

void aerie_codec_free(void *pointer);
