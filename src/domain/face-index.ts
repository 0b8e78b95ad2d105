// The in-memory face index kept in step with PostgreSQL; see src/domain/index/face-index.ts.
export { FaceIndex, type FaceIndexOptions, type IndexHit, type IndexLoadReport } from './index/face-index';
export { ExactMatcher, type CollectionMatcher, type MatcherFactory, type SearchHit, type SearchOptions } from './index/collection-matcher';
export { FACE_CHANGES_CHANNEL, type FaceChange } from './index/face-change';
