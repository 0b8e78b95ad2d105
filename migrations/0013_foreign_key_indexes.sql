-- Every foreign key gets an index that leads with its column, so deleting the referenced row finds the referencing
-- rows by index. Without one, each face deleted scanned all of recognition_events to set face_id to NULL: a
-- delete's time grew with the event history (measured by bench:soak: 18 -> 26 ms median over 8 minutes at 26
-- events/s; on PostgreSQL with 1M events one face delete took 415-1030 ms, 10-37 ms with the index). Partial
-- where most rows hold NULL.
CREATE INDEX recognition_events_face_idx ON recognition_events (face_id) WHERE face_id IS NOT NULL;
CREATE INDEX faces_camera_idx ON faces (camera_id) WHERE camera_id IS NOT NULL;
CREATE INDEX console_sessions_operator_idx ON console_sessions (operator_id);
