// Converts AttributeResults to the plain JS object the TypeScript engine wrapper types (src/engine).
// Only attributes that were computed appear as keys:
//   age: {years, low, high, probability}  gender: {value: 'male'|'female', probability, maleScore}
//   emotion: {top: 'happy', probabilities: {angry, disgusted, scared, happy, neutral, sad, surprised}}
//   liveness: {score, real}            eyes: {left: {closed, open}, right: {closed, open}}
//   mouth: {opening, open}             pose: {yaw, pitch, roll}          mask: {probability, masked}
//   quality: {total, sharpness, illumination, flare, leftEyeOpenness, rightEyeOpenness, rotation, notMasked,
//             neutralEmotion, eyesDistance, margins, noise, watermark, backgroundUniformity, dynamicRange:
//             each {score, ok}; marginInnerDeviation, marginOuterDeviation, faceLuminance, interEyeDistance}
#pragma once

#include <napi.h>

#include "attributes/attributes.h"

namespace faceserver::binding {

Napi::Object attributesToJs(Napi::Env env, const faceserver::AttributeResults& r);

}  // namespace faceserver::binding
