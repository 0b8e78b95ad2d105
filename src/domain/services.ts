// The domain services every dialect uses, built once by the composition root.
import type { Db } from '../store/db';
import { SqlFaceSearcher } from '../store/vector-search';
import { AnalysisService } from './analysis';
import type { ScoreCalibration } from './calibration';
import { CollectionService } from './collections';
import { EventRecorder, type EventSink } from './events';
import type { FaceAnalyzer } from './face-analyzer';
import { NO_FACE_CHANGE_SINK, type FaceChangeSink, type FaceSearcher } from './face-search';
import { FaceService, type UnkeptPhotoSink } from './faces';
import { IdentificationService } from './identification';
import { KeyService, type KeyServiceOptions, type KindTable } from './keys';
import { PersonService } from './persons';
import { VerificationService } from './verification';

export interface DomainServices {
  analysis: AnalysisService;
  collections: CollectionService;
  persons: PersonService;
  faces: FaceService;
  identification: IdentificationService;
  verification: VerificationService;
  keys: KeyService;
  events: EventRecorder;
  calibration: ScoreCalibration;
}

export interface DomainOptions {
  db: Db;
  analyzer: FaceAnalyzer;
  calibration: ScoreCalibration;
  /** Keep enrolled photos (SAVE_IMAGES). */
  keepPhotos: boolean;
  /** Defaults to pgvector search; the in-memory face index when the server has one. */
  searcher?: FaceSearcher;
  /** Told of every committed face change (the in-memory face index); nothing by default. */
  changes?: FaceChangeSink;
  /** The credential kinds keys may have (src/dialects/key-kinds.ts). */
  keyKinds: KindTable;
  /** The key service's failed-attempt throttle and lookup hook. */
  keyOptions?: KeyServiceOptions;
  /** Where recognition events go (the store's writer, which writes them behind the response). */
  events: EventSink;
  /** Told of faces enrolled from photos that are not kept (a crop of each is kept for the console). */
  unkeptPhotos?: UnkeptPhotoSink;
}

export function createDomainServices(o: DomainOptions): DomainServices {
  const changes = o.changes ?? NO_FACE_CHANGE_SINK;
  const events = new EventRecorder(o.events);
  const analysis = new AnalysisService(o.analyzer);
  const faces = new FaceService(o.db, o.analyzer, o.keepPhotos, changes, o.unkeptPhotos);
  return {
    analysis,
    collections: new CollectionService(o.db, changes),
    persons: new PersonService(o.db, changes),
    faces,
    identification: new IdentificationService(analysis, o.searcher ?? new SqlFaceSearcher(o.db), o.calibration, events),
    verification: new VerificationService(analysis, faces, o.calibration, events),
    keys: new KeyService(o.db, o.keyKinds, o.keyOptions),
    events,
    calibration: o.calibration,
  };
}
