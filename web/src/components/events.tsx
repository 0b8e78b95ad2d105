// A list of recognition events: when, the probe face's thumbnail, who it matched (with their face), the score
// and what it means, where it came from.
import type { EventRow } from '../api';
import { eventThumb, faceThumb, fmtFar, fmtScore, fmtTime, href, Thumb } from '../ui';

export function EventList(props: { events: EventRow[]; showPerson?: boolean }) {
  return (
    <ol class="timeline" aria-label="Recognition events, newest first">
      {props.events.map((e) => (
        <li key={e.id} class={`event ${e.known || (e.personId === null && e.endpoint === 'verify' && e.verdict === 'match') ? 'event-known' : 'event-unknown'}`} data-event-id={e.id}>
          <time dateTime={e.occurredAt}>{fmtTime(e.occurredAt)}</time>
          <Thumb src={e.hasThumbnail ? eventThumb(e.id) : null} alt={`Probe face of event ${e.id}`} size="medium" />
          <span class="event-arrow" aria-hidden="true">
            →
          </span>
          {props.showPerson !== false &&
            (e.personId ? (
              <a href={href(`persons/${e.personId}`)} class="event-person">
                <Thumb src={faceThumb(e.faceId)} alt={`Matched face of ${e.personName ?? 'the person'}`} size="medium" />
                <span>{e.personName}</span>
              </a>
            ) : (
              <span class="event-person muted">nobody</span>
            ))}
          <span class="event-score">
            {e.personId === null && e.endpoint === 'verify' ? (
              <span class={`badge ${e.verdict === 'match' ? 'badge-ok' : 'badge-no'}`}>1:1 {e.verdict === 'match' ? 'same person' : 'different'}</span>
            ) : (
              <span class={`badge ${e.known ? 'badge-ok' : 'badge-no'}`}>{e.known ? 'known' : 'unknown'}</span>
            )}
            {e.verdict && <span class="muted">{e.verdict}</span>}
            <span title="cosine of the probe and the matched face">score {fmtScore(e.cosine)}</span>
            <span title="share of different people who score this high">FAR {fmtFar(e.far)}</span>
          </span>
          <span class="event-where muted">
            {e.collectionName ?? 'no collection'} · {e.cameraName ?? 'no camera'} · {e.dialect ?? '?'} {e.endpoint ?? ''}
          </span>
        </li>
      ))}
    </ol>
  );
}
