// The face engine over dlib: HOG (or CNN) detection, 5-point landmarks, aligned chips and the ResNet embedding.
// Compiled with -O2 even in debug builds (see Package.swift): dlib's detectors and networks are header templates,
// about 150 times slower at -O0. Every entry point catches every exception (see CAerieFaces.h).
#include "CAerieFaces.h"

#include <dlib/dnn.h>
#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

// The ResNet of dlib_face_recognition_resnet_model_v1.dat (dlib's examples/dnn_face_recognition_ex.cpp).
template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual = dlib::add_prev1<block<N, BN, 1, dlib::tag1<SUBNET>>>;

template <template <int, template <typename> class, int, typename> class block, int N,
          template <typename> class BN, typename SUBNET>
using residual_down =
    dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<block<N, BN, 2, dlib::tag1<SUBNET>>>>>>;

template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, stride, stride, SUBNET>>>>>;

template <int N, typename SUBNET> using ares = dlib::relu<residual<block, N, dlib::affine, SUBNET>>;
template <int N, typename SUBNET> using ares_down = dlib::relu<residual_down<block, N, dlib::affine, SUBNET>>;

template <typename SUBNET> using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET> using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;

using recognition_net = dlib::loss_metric<dlib::fc_no_bias<
    128, dlib::avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<dlib::max_pool<
             3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;

// The MMOD CNN of mmod_human_face_detector.dat (dlib's examples/dnn_mmod_face_detection_ex.cpp).
template <long num_filters, typename SUBNET> using con5d = dlib::con<num_filters, 5, 5, 2, 2, SUBNET>;
template <long num_filters, typename SUBNET> using con5 = dlib::con<num_filters, 5, 5, 1, 1, SUBNET>;
template <typename SUBNET>
using downsampler = dlib::relu<dlib::affine<
    con5d<32, dlib::relu<dlib::affine<con5d<32, dlib::relu<dlib::affine<con5d<16, SUBNET>>>>>>>>>;
template <typename SUBNET> using rcon5 = dlib::relu<dlib::affine<con5<45, SUBNET>>>;
using cnn_detector_net = dlib::loss_mmod<dlib::con<
    1, 9, 9, 1, 1, rcon5<rcon5<rcon5<downsampler<dlib::input_rgb_image_pyramid<dlib::pyramid_down<6>>>>>>>>;

using image = dlib::matrix<dlib::rgb_pixel>;

/// The aligned chip the recognition network was trained on: 150 px, 0.25 padding (dlib's Python default).
constexpr unsigned long chip_size = 150;
constexpr double chip_padding = 0.25;
constexpr int max_upsample = 4;
/// Refuse images whose upsampled size would need more than this many pixels (a few GB of float pyramids).
constexpr double max_upsampled_pixels = 400e6;

void set_message(char *message, size_t size, const std::string &text) {
    if (message == nullptr || size == 0) return;
    std::snprintf(message, size, "%s", text.c_str());
}

int fail(char *message, size_t size, int status, const std::string &text) {
    set_message(message, size, text);
    return status;
}

/// Runs `body`, turning every exception into a status code and a message.
template <typename Body> int guarded(char *message, size_t message_size, Body body) {
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return fail(message, message_size, AERIE_FACES_NO_MEMORY, "out of memory");
    } catch (const dlib::serialization_error &error) {
        return fail(message, message_size, AERIE_FACES_MODEL_ERROR, std::string("model file: ") + error.what());
    } catch (const std::exception &error) {
        return fail(message, message_size, AERIE_FACES_INTERNAL, error.what());
    } catch (...) {
        return fail(message, message_size, AERIE_FACES_INTERNAL, "unknown error in dlib");
    }
}

int check_image(const uint8_t *rgb, size_t length, int32_t width, int32_t height, char *message, size_t size) {
    if (rgb == nullptr) return fail(message, size, AERIE_FACES_INVALID_ARGUMENT, "no pixel buffer");
    if (width <= 0 || height <= 0)
        return fail(message, size, AERIE_FACES_INVALID_ARGUMENT,
                    "the image is " + std::to_string(width) + "×" + std::to_string(height) + " pixels");
    const size_t expected = static_cast<size_t>(width) * static_cast<size_t>(height) * 3;
    if (length != expected)
        return fail(message, size, AERIE_FACES_INVALID_ARGUMENT,
                    "the pixel buffer has " + std::to_string(length) + " bytes, a " + std::to_string(width) + "×" +
                        std::to_string(height) + " RGB8 image has " + std::to_string(expected));
    return AERIE_FACES_OK;
}

image copy_image(const uint8_t *rgb, int32_t width, int32_t height) {
    static_assert(sizeof(dlib::rgb_pixel) == 3, "dlib::rgb_pixel is packed RGB8");
    image result(height, width);
    std::memcpy(&result(0, 0), rgb, static_cast<size_t>(width) * static_cast<size_t>(height) * 3);
    return result;
}

} // namespace

struct AerieFacesContext {
    dlib::frontal_face_detector hog = dlib::get_frontal_face_detector();
    dlib::shape_predictor landmarks;
    recognition_net recognition;
    std::unique_ptr<cnn_detector_net> cnn;
};

extern "C" int aerie_faces_open(const char *shape_predictor_path, const char *recognition_path,
                                const char *cnn_detector_path, AerieFacesContext **context, char *message,
                                size_t message_size) {
    if (shape_predictor_path == nullptr || recognition_path == nullptr || context == nullptr)
        return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT, "missing model path or context pointer");
    *context = nullptr;
    return guarded(message, message_size, [&] {
        auto opened = std::make_unique<AerieFacesContext>();
        std::string current = shape_predictor_path;
        try {
            dlib::deserialize(current) >> opened->landmarks;
            if (opened->landmarks.num_parts() != AERIE_FACES_LANDMARKS)
                return fail(message, message_size, AERIE_FACES_MODEL_ERROR,
                            current + " predicts " + std::to_string(opened->landmarks.num_parts()) +
                                " landmarks, expected the 5-point model");
            current = recognition_path;
            dlib::deserialize(current) >> opened->recognition;
            if (cnn_detector_path != nullptr) {
                current = cnn_detector_path;
                auto cnn = std::make_unique<cnn_detector_net>();
                dlib::deserialize(current) >> *cnn;
                opened->cnn = std::move(cnn);
            }
        } catch (const std::bad_alloc &) {
            return fail(message, message_size, AERIE_FACES_MODEL_ERROR,
                        "cannot read " + current + ": out of memory (is it the right file?)");
        } catch (const std::exception &error) {
            return fail(message, message_size, AERIE_FACES_MODEL_ERROR, "cannot read " + current + ": " + error.what());
        }
        *context = opened.release();
        return static_cast<int>(AERIE_FACES_OK);
    });
}

extern "C" void aerie_faces_close(AerieFacesContext *context) { delete context; }

extern "C" int aerie_faces_detect(AerieFacesContext *context, const uint8_t *rgb, size_t length, int32_t width,
                                  int32_t height, int32_t upsample, int32_t detector, AerieFacesDetection *faces,
                                  int32_t capacity, int32_t *count, char *message, size_t message_size) {
    if (context == nullptr || count == nullptr || (faces == nullptr && capacity > 0) || capacity < 0)
        return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT, "missing context or output buffer");
    *count = 0;
    if (int status = check_image(rgb, length, width, height, message, message_size)) return status;
    if (upsample < 0 || upsample > max_upsample)
        return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT,
                    "upsample must be 0 to " + std::to_string(max_upsample) + ", not " + std::to_string(upsample));
    const double scale = static_cast<double>(1 << upsample);
    if (static_cast<double>(width) * height * scale * scale > max_upsampled_pixels)
        return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT,
                    "the image is too large to detect faces in with " + std::to_string(upsample) + " upsampling");
    if (detector != AERIE_FACES_DETECTOR_HOG && detector != AERIE_FACES_DETECTOR_CNN)
        return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT, "unknown detector " + std::to_string(detector));
    if (detector == AERIE_FACES_DETECTOR_CNN && !context->cnn)
        return fail(message, message_size, AERIE_FACES_UNAVAILABLE,
                    "the context was opened without the CNN detector model");
    return guarded(message, message_size, [&] {
        const image original = copy_image(rgb, width, height);
        // As dlib's Python API: upsample with pyramid_up, detect, map the boxes back with rect_down.
        dlib::pyramid_down<2> pyramid;
        image scaled;
        const image *input = &original;
        if (upsample > 0) {
            dlib::pyramid_up(original, scaled, pyramid);
            for (int i = 1; i < upsample; ++i) dlib::pyramid_up(scaled, pyramid);
            input = &scaled;
        }
        std::vector<std::pair<double, dlib::rectangle>> found;
        if (detector == AERIE_FACES_DETECTOR_HOG) {
            std::vector<dlib::rect_detection> detections;
            context->hog(*input, detections, 0.0);
            for (const auto &detection : detections)
                found.emplace_back(detection.detection_confidence, detection.rect);
        } else {
            for (const auto &detection : (*context->cnn)(*input))
                found.emplace_back(detection.detection_confidence, detection.rect);
        }
        std::sort(found.begin(), found.end(), [](const auto &a, const auto &b) {
            if (a.first != b.first) return a.first > b.first;
            return a.second.top() != b.second.top() ? a.second.top() < b.second.top() : a.second.left() < b.second.left();
        });
        const int32_t written = std::min<int32_t>(capacity, static_cast<int32_t>(found.size()));
        for (int32_t i = 0; i < written; ++i) {
            const dlib::rectangle box = 
                upsample > 0 ? dlib::rectangle(pyramid.rect_down(found[i].second, upsample)) : found[i].second;
            const dlib::full_object_detection shape = context->landmarks(original, box);
            AerieFacesDetection &face = faces[i];
            face.left = static_cast<int32_t>(box.left());
            face.top = static_cast<int32_t>(box.top());
            face.width = static_cast<int32_t>(box.width());
            face.height = static_cast<int32_t>(box.height());
            face.score = found[i].first;
            for (unsigned long p = 0; p < AERIE_FACES_LANDMARKS; ++p) {
                face.landmarks[2 * p] = static_cast<float>(shape.part(p).x());
                face.landmarks[2 * p + 1] = static_cast<float>(shape.part(p).y());
            }
        }
        *count = written;
        return static_cast<int>(AERIE_FACES_OK);
    });
}

extern "C" int aerie_faces_embed(AerieFacesContext *context, const uint8_t *rgb, size_t length, int32_t width,
                                 int32_t height, const AerieFacesDetection *faces, int32_t count, float *embeddings,
                                 char *message, size_t message_size) {
    if (context == nullptr || count < 0 || (count > 0 && (faces == nullptr || embeddings == nullptr)))
        return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT, "missing context, faces or output buffer");
    if (int status = check_image(rgb, length, width, height, message, message_size)) return status;
    if (count == 0) return static_cast<int>(AERIE_FACES_OK);
    return guarded(message, message_size, [&] {
        const image original = copy_image(rgb, width, height);
        std::vector<dlib::chip_details> details;
        details.reserve(count);
        for (int32_t i = 0; i < count; ++i) {
            const AerieFacesDetection &face = faces[i];
            std::vector<dlib::point> parts;
            for (int p = 0; p < AERIE_FACES_LANDMARKS; ++p) {
                const float x = face.landmarks[2 * p], y = face.landmarks[2 * p + 1];
                if (!std::isfinite(x) || !std::isfinite(y) || std::abs(x) > 1e6f || std::abs(y) > 1e6f)
                    return fail(message, message_size, AERIE_FACES_INVALID_ARGUMENT,
                                "face " + std::to_string(i) + " has a landmark that is not a finite coordinate");
                parts.emplace_back(std::lround(x), std::lround(y));
            }
            const dlib::rectangle box(face.left, face.top, face.left + std::max(face.width, 1) - 1,
                                      face.top + std::max(face.height, 1) - 1);
            details.push_back(dlib::get_face_chip_details(dlib::full_object_detection(box, parts), chip_size, chip_padding));
        }
        dlib::array<image> chips;
        dlib::extract_image_chips(original, details, chips);
        std::vector<image> batch(chips.size());
        for (size_t i = 0; i < chips.size(); ++i) batch[i].swap(chips[i]);
        const std::vector<dlib::matrix<float, 0, 1>> descriptors = context->recognition(batch, 16);
        for (size_t i = 0; i < descriptors.size(); ++i) {
            if (descriptors[i].size() != AERIE_FACES_EMBEDDING_SIZE)
                return fail(message, message_size, AERIE_FACES_INTERNAL,
                            "the network returned " + std::to_string(descriptors[i].size()) + " values, expected 128");
            std::memcpy(embeddings + i * AERIE_FACES_EMBEDDING_SIZE, &descriptors[i](0),
                        AERIE_FACES_EMBEDDING_SIZE * sizeof(float));
        }
        return static_cast<int>(AERIE_FACES_OK);
    });
}
