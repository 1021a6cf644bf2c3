-- Upload quotas sum a workspace's uploads (a user's use files_uploader_idx); the sweep finds
-- whether any upload still has a blob's content.
CREATE INDEX files_workspace_idx ON files (workspace_id);
CREATE INDEX files_sha256_idx ON files (sha256);
