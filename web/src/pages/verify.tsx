// Compare two photos: is it the same person? Every face of one against every face of the other, the best pair
// first, with the score, its false-accept rate and false-reject rate.
import { useState } from 'preact/hooks';
import { uploadJson, type Box } from '../api';
import { Alert, DropZone, errorText, fmtFar, fmtScore, PageHeader, PhotoWithBoxes } from '../ui';

interface Side {
  width: number;
  height: number;
  faces: Box[];
}

interface VerifyResult {
  a: Side;
  b: Side;
  matchCosine: number;
  matchFar: number;
  scores: { cosine: number; far: number; frr: number; match: boolean }[][];
}

export function VerifyPage() {
  const [a, setA] = useState<{ file: File; url: string }>();
  const [b, setB] = useState<{ file: File; url: string }>();
  const [result, setResult] = useState<VerifyResult>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const compare = async (first: { file: File } | undefined, second: { file: File } | undefined) => {
    setResult(undefined);
    setError(undefined);
    if (!first || !second) return;
    setBusy(true);
    const form = new FormData();
    form.append('a', first.file, first.file.name);
    form.append('b', second.file, second.file.name);
    try {
      setResult(await uploadJson<VerifyResult>('verify', form));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  const take = (which: 'a' | 'b') => (files: File[]) => {
    const photo = { file: files[0], url: URL.createObjectURL(files[0]) };
    if (which === 'a') {
      setA(photo);
      void compare(photo, b);
    } else {
      setB(photo);
      void compare(a, photo);
    }
  };
  const pairs = result ? result.scores.flatMap((row, i) => row.map((s, j) => ({ ...s, i, j }))).sort((x, y) => y.cosine - x.cosine) : [];
  const best = pairs[0];
  return (
    <>
      <PageHeader title="Compare two photos" />
      <div class="verify-grid">
        {(['a', 'b'] as const).map((which) => {
          const photo = which === 'a' ? a : b;
          const side = result?.[which];
          return (
            <div key={which} class="card">
              <DropZone id={`verify-${which}`} label={which === 'a' ? 'First photo' : 'Second photo'} onFiles={take(which)} compact />
              {photo &&
                (side ? (
                  <PhotoWithBoxes
                    src={photo.url}
                    width={side.width}
                    height={side.height}
                    alt={`${which === 'a' ? 'First' : 'Second'} photo`}
                    boxes={side.faces.map((box, k) => ({ box, label: `${which.toUpperCase()}${k + 1}`, tone: best && (which === 'a' ? best.i : best.j) === k ? 'tone-ok' : '' }))}
                  />
                ) : (
                  <img src={photo.url} alt={`${which === 'a' ? 'First' : 'Second'} photo`} class="photo-plain" />
                ))}
            </div>
          );
        })}
      </div>
      {busy && <p aria-live="polite">Comparing…</p>}
      {error && <Alert>{error}</Alert>}
      {best && (
        <section class="card verdict" aria-live="polite">
          <h2 class={best.match ? 'verdict-ok' : 'verdict-no'}>{best.match ? 'Same person' : 'Different people'}</h2>
          <p>
            Best pair A{best.i + 1}–B{best.j + 1}: score {fmtScore(best.cosine)} (a match from {fmtScore(result!.matchCosine)}). Two photos of different people score
            this high {fmtFar(best.far)} times (the false-accept rate at this score); {(best.frr * 100).toFixed(1)}% of pairs of photos of one person score lower (the
            false-reject rate at this score).
          </p>
          {pairs.length > 1 && (
            <table class="table compact">
              <caption>Every pair</caption>
              <thead>
                <tr>
                  <th scope="col">Pair</th>
                  <th scope="col" class="num">Score</th>
                  <th scope="col">False-accept rate</th>
                  <th scope="col">Verdict</th>
                </tr>
              </thead>
              <tbody>
                {pairs.map((p) => (
                  <tr key={`${p.i}-${p.j}`}>
                    <td>
                      A{p.i + 1}–B{p.j + 1}
                    </td>
                    <td class="num">{fmtScore(p.cosine)}</td>
                    <td>{fmtFar(p.far)}</td>
                    <td>
                      <span class={`badge ${p.match ? 'badge-ok' : 'badge-no'}`}>{p.match ? 'match' : 'no match'}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </>
  );
}
