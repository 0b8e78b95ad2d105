-- Keep embeddings inline in the row, uncompressed (a 512-d vector is 2,056 bytes, just over the TOAST
-- threshold, and random-looking floats do not compress): loading the in-memory index then reads the heap
-- sequentially instead of fetching every embedding from the TOAST table (measured ~4x faster; see
-- benchmarks/RESULTS.md "Index load"). The template may still move out of line, which only enrol reads.
ALTER TABLE faces ALTER COLUMN embedding SET STORAGE PLAIN;
ALTER TABLE recognition_events ALTER COLUMN embedding SET STORAGE PLAIN;
