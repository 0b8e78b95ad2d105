-- Recognition events keep the product-neutral score: the cosine of the probe and the matched face's embeddings,
-- and its calibrated false-accept rate (assets/calibration/), instead of one product's similarity scale. Each
-- API dialect shows its own scale to its clients; SQL reports read the same number whichever dialect wrote the
-- row. Rows written before this migration held CompreFace's similarity s = (tanh((c0 - d) * c1) + 1) / 2 over
-- the Euclidean distance d of unit embeddings (c0 = 1.2268, c1 = 12.0932): invert it to the distance, then the
-- cosine (1 - d^2 / 2). Their far stays NULL (it was not recorded).
ALTER TABLE recognition_events ADD COLUMN far real;
COMMENT ON COLUMN recognition_events.similarity IS 'cosine similarity of the probe and the matched face (-1..1)';
COMMENT ON COLUMN recognition_events.far IS 'false-accept rate of that cosine taken as the threshold (calibration table)';
UPDATE recognition_events
   SET similarity = 1 - power(greatest(0, 1.2268 - atanh(least(greatest(2 * similarity::float8 - 1, -0.999999), 0.999999)) / 12.0932), 2) / 2
 WHERE similarity IS NOT NULL;
