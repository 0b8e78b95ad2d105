// The face attributes' shapes live with the domain (src/domain/attributes.ts); re-exported for the engine's side.
export { EMOTIONS, type Attributes, type Emotion, type QualityMeasure } from '../domain/attributes';
