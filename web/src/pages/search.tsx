// Search by photo: every face found in it, each with its best matches (thumbnails, score, the false-accept rate
// that score corresponds to). The search is a recognition like any other: it shows up in the history.
import { useEffect, useState } from 'preact/hooks';
import { get, uploadJson, type Box, type Collection, type Match } from '../api';
import { Alert, DropZone, errorText, faceThumb, fmtFar, fmtScore, href, PageHeader, PhotoWithBoxes, Thumb, useCrop, useLoad } from '../ui';

interface SearchResult {
  width: number;
  height: number;
  matchCosine: number;
  matchFar: number;
  faces: { box: Box; matches: Match[] }[];
}

export function SearchPage() {
  const collections = useLoad(() => get<{ collections: Collection[] }>('collections'), []);
  const [collection, setCollection] = useState('');
  const [photo, setPhoto] = useState<{ file: File; url: string }>();
  const [result, setResult] = useState<SearchResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  useEffect(() => () => photo && URL.revokeObjectURL(photo.url), [photo]);
  const search = async (files: File[]) => {
    const file = files[0];
    setPhoto({ file, url: URL.createObjectURL(file) });
    setResult(undefined);
    setError(undefined);
    setBusy(true);
    const form = new FormData();
    if (collection) form.append('collection', collection);
    form.append('file', file, file.name);
    try {
      setResult(await uploadJson<SearchResult>('search', form));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <PageHeader title="Search by photo" />
      <div class="form-row card">
        <div class="field">
          <label for="search-search-in">Search in</label>
          <select id="search-search-in" name="search-collection" value={collection} onChange={(e) => setCollection(e.currentTarget.value)}>
            <option value="">All collections</option>
            {collections.data?.collections.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </div>
        <DropZone id="search" label="Photo to search with" onFiles={search} compact />
      </div>
      {busy && <p aria-live="polite">Searching…</p>}
      {error && <Alert>{error}</Alert>}
      {photo && result && (
        <div class="search-result" aria-live="polite">
          <PhotoWithBoxes
            src={photo.url}
            width={result.width}
            height={result.height}
            alt={`The photo searched with: ${result.faces.length} face(s)`}
            boxes={result.faces.map((f, i) => ({ box: f.box, label: String(i + 1), tone: f.matches[0]?.match ? 'tone-ok' : 'tone-no' }))}
          />
          <div class="probe-list">
            <p class="muted">
              A match is a score of at least {fmtScore(result.matchCosine)}: different people score that high {fmtFar(result.matchFar)} times.
            </p>
            {result.faces.map((f, i) => (
              <ProbeResult key={i} index={i + 1} photoUrl={photo.url} box={f.box} matches={f.matches} />
            ))}
          </div>
        </div>
      )}
    </>
  );
}

function ProbeResult(props: { index: number; photoUrl: string; box: Box; matches: Match[] }) {
  const crop = useCrop(props.photoUrl, props.box);
  const best = props.matches[0];
  return (
    <section class="probe card" aria-label={`Face ${props.index}`} data-testid={`probe-${props.index}`}>
      <header class="probe-head">
        <Thumb src={crop ?? null} alt={`Face ${props.index} of the photo`} size="medium" />
        <div>
          <h2>Face {props.index}</h2>
          <p class={best?.match ? 'verdict-ok' : 'verdict-no'}>{best?.match ? `Recognised: ${best.personName}` : props.matches.length ? 'No match above the threshold' : 'Nobody similar enrolled'}</p>
        </div>
      </header>
      {props.matches.length > 0 && (
        <table class="table compact">
          <caption class="visually-hidden">Best matches of face {props.index}</caption>
          <thead>
            <tr>
              <th scope="col">Person</th>
              <th scope="col" class="num">Score</th>
              <th scope="col">False-accept rate</th>
              <th scope="col">Verdict</th>
            </tr>
          </thead>
          <tbody>
            {props.matches.map((m) => (
              <tr key={m.faceId} class={m.match ? 'row-ok' : ''}>
                <td>
                  <a href={href(`persons/${m.personId}`)} class="with-thumb">
                    <Thumb src={faceThumb(m.faceId)} alt="" size="small" />
                    {m.personName}
                  </a>
                </td>
                <td class="num">{fmtScore(m.cosine)}</td>
                <td>{fmtFar(m.far)}</td>
                <td>
                  <span class={`badge ${m.match ? 'badge-ok' : 'badge-no'}`}>{m.match ? 'match' : 'no match'}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
