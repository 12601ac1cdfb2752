import { useCallback, useEffect, useRef, useState } from 'react';

import { chooseFetcher, myCredentialsUrl, widgetUrl } from './api';
import { defaultMessages } from './messages';

let instances = 0;

function useInstanceId() {
  const id = useRef(null);
  if (id.current === null) {
    instances += 1;
    id.current = `microcred-widget-${instances}`;
  }
  return id.current;
}

/**
 * A missing requirement, linked to where the learner can work on it: a required credential that is
 * in progress to its card on the "My credentials" page, anything else to its course when known.
 */
function RequirementText({ requirement, links }) {
  if (requirement.credential_slug && links.listed.has(requirement.credential_slug)) {
    return <a href={`${links.myCredentials}#credential-${requirement.credential_slug}`}>{requirement.text}</a>;
  }
  if (requirement.course_url) {
    return <a href={requirement.course_url}>{requirement.text}</a>;
  }
  return requirement.text;
}

function StepText({ step, links }) {
  if (step.requirement) {
    return <RequirementText requirement={step.requirement} links={links} />;
  }
  const options = step.options || [];
  return (
    <>
      {step.text}{' '}
      {options.map((option, index) => (
        <span key={option.requirement ? option.requirement.path : `${index}`}>
          {index > 0 ? ', ' : ''}
          <StepText step={option} links={links} />
        </span>
      ))}
    </>
  );
}

/** The first letters of a title's first two words ("Python Programmer — Gold" → "PP"). */
export function initials(title) {
  const words = String(title || '').split(/[\s—–-]+/).filter((word) => /\w/.test(word));
  return words.slice(0, 2).map((word) => word[0].toUpperCase()).join('') || '?';
}

/**
 * A badge's image at `size` px: the credential's image when the LMS gives one, otherwise a
 * disc with the title's initials, so that a badge never shows as nothing. `label` is its text
 * alternative ('' when the title is next to it already).
 */
export function BadgeImage({ imageUrl, title, label, size = 48 }) {
  const style = { width: `${size}px`, height: `${size}px`, flex: `0 0 ${size}px` };
  if (imageUrl) {
    return (
      <img className="microcred-widget-badge-image" src={imageUrl} alt={label} width={size} height={size}
        style={{ ...style, objectFit: 'contain' }} loading="lazy" />
    );
  }
  const disc = {
    ...style,
    display: 'inline-flex',
    alignItems: 'center',
    justifyContent: 'center',
    borderRadius: '50%',
    background: 'var(--pgn-color-primary-base, #0a3055)',
    color: 'var(--pgn-color-white, #fff)',
    fontWeight: 700,
    fontSize: `${Math.round(size * 0.36)}px`,
    lineHeight: 1,
  };
  return label ? (
    <span className="microcred-widget-badge-image microcred-widget-badge-initials" role="img" aria-label={label}
      style={disc}>
      <span aria-hidden="true">{initials(title)}</span>
    </span>
  ) : (
    <span className="microcred-widget-badge-image microcred-widget-badge-initials" aria-hidden="true" style={disc}>
      {initials(title)}
    </span>
  );
}

/** The newest badges as images, each a link to its public page, and how many more there are. */
function BadgeShelf({ badges, total, maxBadges, messages, myCredentials }) {
  const shown = badges.slice(0, maxBadges);
  const more = Math.max(0, total - shown.length);
  if (!shown.length) {
    return null;
  }
  return (
    <ul className="microcred-widget-badges list-inline d-flex flex-wrap mb-3"
      style={{ listStyle: 'none', padding: 0, margin: '0 0 1rem', display: 'flex', flexWrap: 'wrap', gap: '0.5rem' }}>
      {shown.map((badge) => (
        <li key={badge.uuid} className="microcred-widget-badge" data-credential={badge.credential_slug}>
          <a href={badge.public_url} title={badge.title} style={{ display: 'inline-block', lineHeight: 0 }}>
            <BadgeImage imageUrl={badge.image_url} title={badge.title} label={badge.title} />
          </a>
        </li>
      ))}
      {more ? (
        <li className="microcred-widget-badge-more align-self-center" style={{ alignSelf: 'center' }}>
          <a href={myCredentials}>{messages.moreBadges(more)}</a>
        </li>
      ) : null}
    </ul>
  );
}

function ProgressItem({ item, idPrefix, messages, links }) {
  const titleId = `${idPrefix}-${item.credential_slug}`;
  const percent = Math.max(0, Math.min(100, Number(item.percent) || 0));
  const next = (item.next_steps || [])[0];
  return (
    <li className="microcred-widget-item mb-3" data-credential={item.credential_slug}>
      <div className="microcred-widget-item-head d-flex align-items-center mb-1"
        style={{ display: 'flex', alignItems: 'center', gap: '0.5rem' }}>
        <BadgeImage imageUrl={item.image_url} title={item.title} label="" size={32} />
        <p className="microcred-widget-item-title mb-0" id={titleId} style={{ margin: 0 }}><strong>{item.title}</strong></p>
      </div>
      <div className="microcred-widget-bar d-flex align-items-center">
        <div
          className="progress flex-grow-1"
          style={{ height: '0.5rem', background: 'var(--pgn-color-light-400, #e9ecef)', borderRadius: '0.25rem',
            overflow: 'hidden', flex: 1 }}
        >
          <div
            className="progress-bar bg-success"
            role="progressbar"
            aria-labelledby={titleId}
            aria-valuenow={percent}
            aria-valuemin={0}
            aria-valuemax={100}
            aria-valuetext={messages.percent(percent)}
            style={{ width: `${percent}%`, height: '100%', background: 'var(--pgn-color-success-base, #17623b)' }}
          />
        </div>
        <span className="microcred-widget-percent ml-2" style={{ marginLeft: '0.5rem' }}>
          {messages.percent(percent)}
        </span>
      </div>
      {next ? (
        <p className="microcred-widget-next small mt-1 mb-0">
          {messages.next} <StepText step={next} links={links} />
        </p>
      ) : null}
    </li>
  );
}

/**
 * The learner-dashboard sidebar widget: how many badges the learner holds, their most advanced
 * stacks with a progress bar and what is next, and a link to the "My credentials" page.
 *
 * Props: `lmsBaseUrl` (e.g. frontend-platform's getConfig().LMS_BASE_URL; default: same origin),
 * `fetcher` | `httpClient` | `getHttpClient` (see api.js), `maxItems` (default 3),
 * `maxBadges` (badge images shown, default 6), `messages` (overrides of messages.js),
 * `headingLevel` (2..6, default 2).
 *
 * It is drawn with Paragon's classes (the learner dashboard MFE's design system: a card, a
 * progress bar, an outline button); inline styles keep it readable in a host without Paragon and
 * take the brand's colours from Paragon's CSS variables where they are defined.
 */
export function MicrocredWidget({
  lmsBaseUrl = '',
  fetcher,
  httpClient,
  getHttpClient,
  maxItems = 3,
  maxBadges = 6,
  messages: messageOverrides,
  headingLevel = 2,
}) {
  const messages = { ...defaultMessages, ...(messageOverrides || {}) };
  const id = useInstanceId();
  const [state, setState] = useState({ status: 'loading', data: null });
  const [attempt, setAttempt] = useState(0);
  const fetcherRef = useRef(null);
  if (fetcherRef.current === null) {
    fetcherRef.current = chooseFetcher({ fetcher, httpClient, getHttpClient });
  }

  useEffect(() => {
    let active = true;
    setState({ status: 'loading', data: null });
    new Promise((resolve) => { resolve(fetcherRef.current(widgetUrl(lmsBaseUrl))); })
      .then((data) => { if (active) { setState({ status: 'ready', data }); } })
      .catch((error) => { if (active) { setState({ status: 'error', data: null, error }); } });
    return () => { active = false; };
  }, [lmsBaseUrl, attempt]);

  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  const Heading = `h${Math.min(6, Math.max(2, Number(headingLevel) || 2))}`;
  const headingId = `${id}-title`;
  const { status, data } = state;
  const myCredentials = (data && data.my_credentials_url) || myCredentialsUrl(lmsBaseUrl);
  const unearned = data ? (data.progress || []).filter((item) => !item.earned) : [];
  const inProgress = unearned.slice(0, maxItems);
  const links = { myCredentials, listed: new Set(unearned.map((item) => item.credential_slug)) };
  const isEmpty = status === 'ready' && !(data && data.badges_count) && !((data && data.progress) || []).length;

  return (
    <section
      className="microcred-widget pgn__card card mb-4 p-3"
      aria-labelledby={headingId}
      aria-busy={status === 'loading'}
    >
      <Heading id={headingId} className="h4 mb-3">{messages.title}</Heading>

      {status === 'loading' ? <p role="status">{messages.loading}</p> : null}

      {status === 'error' ? (
        <div role="alert">
          <p>{messages.error}</p>
          <button type="button" className="btn btn-outline-primary btn-sm" onClick={retry}>{messages.retry}</button>
        </div>
      ) : null}

      {isEmpty ? <p className="microcred-widget-empty">{messages.empty}</p> : null}

      {status === 'ready' && !isEmpty ? (
        <>
          <p className="microcred-widget-count mb-2">{messages.badgesEarned(data.badges_count || 0)}</p>
          <BadgeShelf
            badges={data.badges || []}
            total={data.badges_count || 0}
            maxBadges={maxBadges}
            messages={messages}
            myCredentials={myCredentials}
          />
          {inProgress.length ? (
            <>
              <p className="microcred-widget-subtitle mb-2" id={`${id}-progress`}>{messages.inProgress}</p>
              <ul className="list-unstyled mb-2" aria-labelledby={`${id}-progress`}>
                {inProgress.map((item) => (
                  <ProgressItem
                    key={item.credential_slug}
                    item={item}
                    idPrefix={id}
                    messages={messages}
                    links={links}
                  />
                ))}
              </ul>
            </>
          ) : null}
        </>
      ) : null}

      {status !== 'loading' ? (
        <a className="microcred-widget-all" href={myCredentials}>{messages.viewAll}</a>
      ) : null}
    </section>
  );
}

export default MicrocredWidget;
