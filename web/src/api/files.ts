// Uploads and downloads with progress. fetch() reports no upload progress, so uploads use
// XMLHttpRequest; downloads read the body stream and count bytes.

import { accessToken, refresh } from '../auth/session';
import { ApiError, toApiError } from './http';
import type { FileInfo } from './types';

export type Progress = (loaded: number, total: number) => void;

export async function upload(file: File, onProgress: Progress, retried = false): Promise<FileInfo> {
  const token = await accessToken();
  if (!token) throw new ApiError(401, 'session_ended', 'signed out');
  const form = new FormData();
  form.append('file', file, file.name);
  const xhr = new XMLHttpRequest();
  const done = new Promise<FileInfo>((resolve, reject) => {
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, 'network', 'the upload was interrupted'));
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(JSON.parse(xhr.responseText) as FileInfo);
        return;
      }
      const response = new Response(xhr.responseText, {
        status: xhr.status,
        headers: { 'Content-Type': 'application/json' },
      });
      void toApiError(response).then(reject);
    };
  });
  xhr.open('POST', '/api/files');
  xhr.setRequestHeader('Authorization', `Bearer ${token}`);
  xhr.send(form);
  try {
    return await done;
  } catch (err) {
    if (!retried && err instanceof ApiError && err.status === 401 && (await refresh()) === 'refreshed') {
      return upload(file, onProgress, true);
    }
    throw err;
  }
}

/** Fetches the file with progress and hands it to the browser as a download. */
export async function download(file: FileInfo, onProgress: Progress): Promise<void> {
  const get = async () => {
    const token = await accessToken();
    if (!token) throw new ApiError(401, 'session_ended', 'signed out');
    try {
      return await fetch(`/api/files/${file.id}`, { headers: { Authorization: `Bearer ${token}` } });
    } catch {
      throw new ApiError(0, 'network', 'the download was interrupted');
    }
  };
  let response = await get();
  if (response.status === 401 && (await refresh()) === 'refreshed') response = await get();
  if (!response.ok || !response.body) throw await toApiError(response);
  const total = Number(response.headers.get('Content-Length')) || file.size_bytes;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.byteLength;
    onProgress(loaded, total);
  }
  const blob = new Blob(chunks as BlobPart[], { type: file.content_type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
