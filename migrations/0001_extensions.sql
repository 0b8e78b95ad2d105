-- pgvector holds face embeddings (vector(512)) and their HNSW index.
CREATE EXTENSION IF NOT EXISTS vector;
