// The face engine for AerieFaces: a thin C API over Debian's dlib (libdlib-dev). dlib is C++ and reports errors
// with exceptions; every function here catches them all and returns a status code with a message in `message`
// (never an exception across the boundary). A context holds one copy of each network; dlib's networks are not
// thread-safe, so a context is used by one thread at a time (AerieFaces keeps a pool of them).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes of every function (0 is success).
enum {
    AERIE_FACES_OK = 0,
    /// A bad argument: a null pointer, a size that does not match the buffer, a non-positive dimension.
    AERIE_FACES_INVALID_ARGUMENT = 1,
    /// A model file could not be read or is not the expected model.
    AERIE_FACES_MODEL_ERROR = 2,
    /// The operation needs a model the context was opened without (the CNN detector).
    AERIE_FACES_UNAVAILABLE = 3,
    /// Out of memory.
    AERIE_FACES_NO_MEMORY = 4,
    /// Any other error raised inside dlib.
    AERIE_FACES_INTERNAL = 5,
};

/// Which detector `aerie_faces_detect` runs.
enum {
    /// dlib's frontal face detector: HOG features and a linear SVM (fast, frontal faces of about 80 px and up).
    AERIE_FACES_DETECTOR_HOG = 0,
    /// dlib's MMOD CNN face detector (`mmod_human_face_detector.dat`): more angles, much slower on a CPU.
    AERIE_FACES_DETECTOR_CNN = 1,
};

/// The number of landmarks (dlib's 5-point model: the outer and inner corner of each eye, the base of the nose).
#define AERIE_FACES_LANDMARKS 5
/// The length of an embedding.
#define AERIE_FACES_EMBEDDING_SIZE 128

typedef struct AerieFacesContext AerieFacesContext;

/// One detected face in the input image's pixel coordinates. The box is dlib's and may reach slightly past
/// the image's edges.
typedef struct {
    int32_t left, top, width, height;
    /// The detector's confidence (HOG: the SVM's margin, above 0; CNN: the MMOD score).
    double score;
    /// x0, y0, x1, y1, … of the 5 landmarks.
    float landmarks[2 * AERIE_FACES_LANDMARKS];
} AerieFacesDetection;

/// Opens a context: loads the 5-point shape predictor and the ResNet face recognition model (required) and the
/// CNN detector (optional: NULL for none). On success `*context` is set; release it with aerie_faces_close.
int aerie_faces_open(const char *shape_predictor_path, const char *recognition_path, const char *cnn_detector_path,
                     AerieFacesContext **context, char *message, size_t message_size);

void aerie_faces_close(AerieFacesContext *context);

/// Detects faces in `rgb` (RGB8, rows packed: `length` must be width × height × 3) after upsampling the image
/// `upsample` times (0–4; each doubles the size, finding faces half as large), and finds their 5 landmarks.
/// Writes at most `capacity` faces, best first, and sets `*count` to how many were written.
int aerie_faces_detect(AerieFacesContext *context, const uint8_t *rgb, size_t length, int32_t width, int32_t height,
                       int32_t upsample, int32_t detector, AerieFacesDetection *faces, int32_t capacity,
                       int32_t *count, char *message, size_t message_size);

/// Computes the 128-d embedding of each of `count` faces (their landmarks are used: dlib's aligned 150×150 chip
/// with 0.25 padding, no jitter) into `embeddings` (count × 128 floats).
int aerie_faces_embed(AerieFacesContext *context, const uint8_t *rgb, size_t length, int32_t width, int32_t height,
                      const AerieFacesDetection *faces, int32_t count, float *embeddings, char *message,
                      size_t message_size);

#ifdef __cplusplus
}
#endif
