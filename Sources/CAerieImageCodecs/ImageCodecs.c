// See include/CAerieImageCodecs.h.
#include "CAerieImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>
#include <webp/decode.h>

static void set_message(char *message, size_t size, const char *text) {
    if (message && size > 0) snprintf(message, size, "%s", text);
}

// MARK: - JPEG

struct aerie_jpeg_error {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *message;
    size_t message_size;
};

static void jpeg_fail(j_common_ptr info) {
    struct aerie_jpeg_error *error = (struct aerie_jpeg_error *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    set_message(error->message, error->message_size, text);
    longjmp(error->jump, 1);
}

// libjpeg only warns about a premature end of data or corrupt entropy data and fills the rest with grey:
// for an upload that is a broken file, so every warning (level -1) fails the decode.
static void jpeg_message(j_common_ptr info, int level) {
    if (level < 0) jpeg_fail(info);
}

static void jpeg_setup_errors(struct aerie_jpeg_error *error, char *message, size_t message_size) {
    jpeg_std_error(&error->manager);
    error->manager.error_exit = jpeg_fail;
    error->manager.emit_message = jpeg_message;
    error->message = message;
    error->message_size = message_size;
}

// Reads the header into *width and *height and, when `rgb` is given, decodes the whole image into it (which must hold
// expected_width × expected_height × 3 bytes). One function for both, because the setjmp that libjpeg's errors
// return to must sit in the frame that owns the decompressor.
static int jpeg_read(const uint8_t *data, size_t size, int *width, int *height, uint8_t *rgb, int expected_width,
                     int expected_height, char *message, size_t message_size) {
    struct jpeg_decompress_struct info;
    struct aerie_jpeg_error error;
    info.err = jpeg_std_error(&error.manager);
    jpeg_setup_errors(&error, message, message_size);
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        return 1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    *width = (int)info.image_width;
    *height = (int)info.image_height;
    if (rgb) {
        info.out_color_space = JCS_RGB;  // also converts greyscale and YCCK/CMYK files
        jpeg_start_decompress(&info);
        if ((int)info.output_width != expected_width || (int)info.output_height != expected_height || info.output_components != 3) {
            set_message(message, message_size, "the image's size changed between probe and decode");
            jpeg_destroy_decompress(&info);
            return 1;
        }
        size_t stride = (size_t)expected_width * 3;
        while (info.output_scanline < info.output_height) {
            JSAMPROW row = rgb + (size_t)info.output_scanline * stride;
            jpeg_read_scanlines(&info, &row, 1);
        }
        jpeg_finish_decompress(&info);
    }
    jpeg_destroy_decompress(&info);
    return 0;
}

int aerie_jpeg_probe(const uint8_t *data, size_t size, int *width, int *height, char *message, size_t message_size) {
    return jpeg_read(data, size, width, height, NULL, 0, 0, message, message_size);
}

int aerie_jpeg_decode(const uint8_t *data, size_t size, uint8_t *rgb, int width, int height, char *message, size_t message_size) {
    int header_width = 0, header_height = 0;
    return jpeg_read(data, size, &header_width, &header_height, rgb, width, height, message, message_size);
}

int aerie_jpeg_encode(const uint8_t *rgb, int width, int height, int quality, uint8_t **out, size_t *out_size,
                      char *message, size_t message_size) {
    struct jpeg_compress_struct info;
    struct aerie_jpeg_error error;
    unsigned char *buffer = NULL;
    unsigned long length = 0;
    info.err = jpeg_std_error(&error.manager);
    jpeg_setup_errors(&error, message, message_size);
    if (setjmp(error.jump)) {
        jpeg_destroy_compress(&info);
        free(buffer);
        return 1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &length);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    size_t stride = (size_t)width * 3;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)info.next_scanline * stride);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = buffer;
    *out_size = length;
    return 0;
}

// MARK: - PNG (libpng's simplified API, which handles its own longjmp)

int aerie_png_probe(const uint8_t *data, size_t size, int *width, int *height, char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    *width = (int)image.width;
    *height = (int)image.height;
    png_image_free(&image);
    return 0;
}

int aerie_png_decode(const uint8_t *data, size_t size, uint8_t *rgb, int width, int height, char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    if ((int)image.width != width || (int)image.height != height) {
        set_message(message, message_size, "the image's size changed between probe and decode");
        png_image_free(&image);
        return 1;
    }
    image.format = PNG_FORMAT_RGB;
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&image, &white, rgb, (png_int_32)(width * 3), NULL)) {
        set_message(message, message_size, image.message);
        png_image_free(&image);
        return 1;
    }
    // A warning here means damaged data (a bad CRC in an ancillary chunk, for example): treat it as corrupt.
    if (image.warning_or_error != 0) {
        set_message(message, message_size, image.message[0] ? image.message : "the PNG data is damaged");
        png_image_free(&image);
        return 1;
    }
    png_image_free(&image);
    return 0;
}

// MARK: - WebP

int aerie_webp_probe(const uint8_t *data, size_t size, int *width, int *height, char *message, size_t message_size) {
    if (!WebPGetInfo(data, size, width, height)) {
        set_message(message, message_size, "not a readable WebP header");
        return 1;
    }
    return 0;
}

int aerie_webp_decode(const uint8_t *data, size_t size, uint8_t *rgb, int width, int height, char *message, size_t message_size) {
    size_t length = (size_t)width * (size_t)height * 3;
    if (!WebPDecodeRGBInto(data, size, rgb, length, width * 3)) {
        set_message(message, message_size, "the WebP data is truncated or corrupt");
        return 1;
    }
    return 0;
}

// MARK: - EXIF

int aerie_exif_orientation(const uint8_t *data, size_t size) {
    ExifData *exif = exif_data_new_from_data(data, (unsigned int)size);
    if (!exif) return 1;
    int orientation = 1;
    ExifEntry *entry = exif_content_get_entry(exif->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (entry && entry->format == EXIF_FORMAT_SHORT && entry->components >= 1) {
        int value = exif_get_short(entry->data, exif_data_get_byte_order(exif));
        if (value >= 1 && value <= 8) orientation = value;
    }
    exif_data_unref(exif);
    return orientation;
}

int aerie_jpeg_has_location(const uint8_t *data, size_t size) {
    ExifData *exif = exif_data_new_from_data(data, (unsigned int)size);
    if (!exif) return 0;
    int has = exif->ifd[EXIF_IFD_GPS] && exif->ifd[EXIF_IFD_GPS]->count > 0;
    exif_data_unref(exif);
    return has;
}

static int is_segment(const uint8_t *payload, size_t length, const char *signature, size_t signature_length) {
    return length >= signature_length && memcmp(payload, signature, signature_length) == 0;
}

struct growable {
    uint8_t *bytes;
    size_t count;
    size_t capacity;
};

static int append(struct growable *buffer, const uint8_t *bytes, size_t count) {
    if (buffer->count + count > buffer->capacity) {
        size_t capacity = (buffer->count + count) * 2;
        uint8_t *grown = realloc(buffer->bytes, capacity);
        if (!grown) return 1;
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->count, bytes, count);
    buffer->count += count;
    return 0;
}

int aerie_jpeg_strip_location(const uint8_t *data, size_t size, uint8_t **out, size_t *out_size) {
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) return 1;
    struct growable copy = {NULL, 0, 0};
    int failed = append(&copy, data, 2);
    size_t at = 2;
    // Copy the marker segments up to the first scan, rewriting Exif segments without their GPS directory and
    // dropping XMP; the entropy-coded data from SOS on is copied as it is.
    while (!failed) {
        if (at + 4 > size || data[at] != 0xFF) { failed = 1; break; }
        uint8_t marker = data[at + 1];
        if (marker == 0xFF) { at += 1; continue; }  // fill bytes
        if (marker == 0xDA) break;                  // start of scan
        size_t length = ((size_t)data[at + 2] << 8) | data[at + 3];
        if (length < 2 || at + 2 + length > size) { failed = 1; break; }
        const uint8_t *payload = data + at + 4;
        size_t payload_length = length - 2;
        int xmp = marker == 0xE1 && (is_segment(payload, payload_length, "http://ns.adobe.com/xap/1.0/", 28)
                                     || is_segment(payload, payload_length, "http://ns.adobe.com/xmp/extension/", 34));
        int exif_segment = marker == 0xE1 && is_segment(payload, payload_length, "Exif\0\0", 6);
        if (exif_segment) {
            // An unreadable Exif segment is dropped rather than copied with its location.
            ExifData *exif = exif_data_new_from_data(payload, (unsigned int)payload_length);
            if (exif) {
                ExifContent *gps = exif->ifd[EXIF_IFD_GPS];
                while (gps && gps->count > 0) exif_content_remove_entry(gps, gps->entries[gps->count - 1]);
                unsigned char *saved = NULL;
                unsigned int saved_length = 0;
                exif_data_save_data(exif, &saved, &saved_length);
                exif_data_unref(exif);
                if (saved && saved_length + 2 <= 65535) {
                    uint8_t header[4] = {0xFF, 0xE1, (uint8_t)((saved_length + 2) >> 8), (uint8_t)((saved_length + 2) & 0xFF)};
                    failed = append(&copy, header, 4) || append(&copy, saved, saved_length);
                }
                free(saved);
            }
        } else if (!xmp) {
            failed = append(&copy, data + at, length + 2);
        }
        at += 2 + length;
    }
    if (!failed) failed = append(&copy, data + at, size - at);
    if (failed) {
        free(copy.bytes);
        return 1;
    }
    *out = copy.bytes;
    *out_size = copy.count;
    return 0;
}

void aerie_codec_free(void *pointer) { free(pointer); }
