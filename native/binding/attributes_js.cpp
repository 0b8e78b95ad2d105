// AttributeResults -> plain JS objects (shape documented in attributes_js.h).
#include "attributes_js.h"

namespace faceserver::binding {

namespace {

Napi::Object measure(Napi::Env env, const QualityMeasure& m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("score", m.score);
  o.Set("ok", m.ok);
  return o;
}

Napi::Object eye(Napi::Env env, float closed, bool open) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("closed", closed);
  o.Set("open", open);
  return o;
}

Napi::Object quality(Napi::Env env, const QualityResult& q) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("total", measure(env, q.total));
  o.Set("sharpness", measure(env, q.sharpness));
  o.Set("illumination", measure(env, q.illumination));
  o.Set("flare", measure(env, q.flare));
  o.Set("leftEyeOpenness", measure(env, q.leftEyeOpenness));
  o.Set("rightEyeOpenness", measure(env, q.rightEyeOpenness));
  o.Set("rotation", measure(env, q.rotation));
  o.Set("notMasked", measure(env, q.notMasked));
  o.Set("neutralEmotion", measure(env, q.neutralEmotion));
  o.Set("eyesDistance", measure(env, q.eyesDistance));
  o.Set("margins", measure(env, q.margins));
  o.Set("noise", measure(env, q.noise));
  o.Set("watermark", measure(env, q.watermark));
  o.Set("backgroundUniformity", measure(env, q.backgroundUniformity));
  o.Set("dynamicRange", measure(env, q.dynamicRange));
  o.Set("marginInnerDeviation", q.marginInnerDeviation);
  o.Set("marginOuterDeviation", q.marginOuterDeviation);
  o.Set("faceLuminance", q.faceLuminance);
  o.Set("interEyeDistance", q.interEyeDistance);
  return o;
}

}  // namespace

Napi::Object attributesToJs(Napi::Env env, const AttributeResults& r) {
  Napi::Object out = Napi::Object::New(env);
  if (r.age) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("years", r.age->years);
    o.Set("low", r.age->low);
    o.Set("high", r.age->high);
    o.Set("probability", r.age->probability);
    out.Set("age", o);
  }
  if (r.gender) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("value", r.gender->male ? "male" : "female");
    o.Set("probability", r.gender->probability);
    o.Set("maleScore", r.gender->maleScore);
    out.Set("gender", o);
  }
  if (r.emotion) {
    Napi::Object probabilities = Napi::Object::New(env);
    for (int i = 0; i < kEmotionCount; ++i)
      probabilities.Set(emotionName(static_cast<Emotion>(i)), r.emotion->probabilities[i]);
    Napi::Object o = Napi::Object::New(env);
    o.Set("top", emotionName(r.emotion->top));
    o.Set("probabilities", probabilities);
    out.Set("emotion", o);
  }
  if (r.liveness) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("score", r.liveness->score);
    o.Set("real", r.liveness->real);
    out.Set("liveness", o);
  }
  if (r.eyes) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("left", eye(env, r.eyes->leftClosed, r.eyes->leftOpen));
    o.Set("right", eye(env, r.eyes->rightClosed, r.eyes->rightOpen));
    out.Set("eyes", o);
  }
  if (r.mouth) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("opening", r.mouth->opening);
    o.Set("open", r.mouth->open);
    out.Set("mouth", o);
  }
  if (r.pose) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("yaw", r.pose->yaw);
    o.Set("pitch", r.pose->pitch);
    o.Set("roll", r.pose->roll);
    out.Set("pose", o);
  }
  if (r.mask) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("probability", r.mask->probability);
    o.Set("masked", r.mask->masked);
    out.Set("mask", o);
  }
  if (r.quality) out.Set("quality", quality(env, *r.quality));
  return out;
}

}  // namespace faceserver::binding
