// The domain services every dialect uses, built once by the composition root.
import type { Db } from '../store/db';
import { DetectionService } from './detection';
import type { EventRecorder } from './events';
import { ExampleService } from './examples';
import type { FaceAnalyzer } from './face-analyzer';
import { NO_FACE_CHANGE_SINK, SqlFaceSearcher, type FaceChangeSink, type FaceSearcher } from './face-search';
import { KeyService } from './keys';
import { RecognitionService } from './recognition';
import { SubjectService } from './subjects';
import { VerificationService } from './verification';

export interface DomainServices {
  detection: DetectionService;
  recognition: RecognitionService;
  verification: VerificationService;
  subjects: SubjectService;
  examples: ExampleService;
  keys: KeyService;
  events: EventRecorder;
}

export interface DomainOptions {
  db: Db;
  analyzer: FaceAnalyzer;
  /** Keep enrolled photos (SAVE_IMAGES). */
  saveImages: boolean;
  /** Defaults to pgvector search; the in-memory index when the server has one. */
  searcher?: FaceSearcher;
  /** Told of every committed face change (the in-memory index); nothing by default. */
  changes?: FaceChangeSink;
  /** Where recognize and verify calls record their events (written behind the response). */
  events: EventRecorder;
}

export function createDomainServices(o: DomainOptions): DomainServices {
  const events = o.events;
  const detection = new DetectionService(o.analyzer);
  const changes = o.changes ?? NO_FACE_CHANGE_SINK;
  const examples = new ExampleService(o.db, o.analyzer, o.saveImages, changes);
  return {
    detection,
    recognition: new RecognitionService(detection, o.searcher ?? new SqlFaceSearcher(o.db), events),
    verification: new VerificationService(detection, examples, events),
    subjects: new SubjectService(o.db, changes),
    examples,
    keys: new KeyService(o.db),
    events,
  };
}
