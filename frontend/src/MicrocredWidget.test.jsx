import {
  act, cleanup, fireEvent, render, screen, within,
} from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { MicrocredWidget, SIDEBAR_SLOT_ID, initials } from './index';
import { dashboard, empty } from './fixtures';

afterEach(cleanup);

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

describe('MicrocredWidget', () => {
  it('shows a loading state, then the data', async () => {
    const pending = deferred();
    const fetcher = vi.fn(() => pending.promise);
    render(<MicrocredWidget fetcher={fetcher} lmsBaseUrl="https://lms.example.org/" />);

    const region = screen.getByRole('region', { name: 'My credentials' });
    expect(region.getAttribute('aria-busy')).toBe('true');
    expect(screen.getByRole('status').textContent).toBe('Loading your credentials…');
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(fetcher).toHaveBeenCalledWith('https://lms.example.org/microcred/api/v1/me/dashboard-widget/');

    await act(async () => { pending.resolve(dashboard); });
    expect(region.getAttribute('aria-busy')).toBe('false');
    expect(screen.queryByRole('status')).toBeNull();
    expect(screen.getByText('2 badges earned')).toBeTruthy();
  });

  it('shows the top stacks in progress with accessible progress bars and what is next', async () => {
    render(<MicrocredWidget fetcher={async () => dashboard} />);

    const bars = await screen.findAllByRole('progressbar');
    // The first three credentials in progress, in the server's order; nothing earned.
    expect(bars.map((bar) => bar.closest('li').dataset.credential)).toEqual([
      'full-stack-starter', 'python-silver', 'python-gold']);
    const starter = screen.getByRole('progressbar', { name: 'Full-Stack Starter' });
    expect(starter.getAttribute('aria-valuenow')).toBe('50');
    expect(starter.getAttribute('aria-valuemin')).toBe('0');
    expect(starter.getAttribute('aria-valuemax')).toBe('100');
    expect(starter.getAttribute('aria-valuetext')).toBe('50 %');
    expect(starter.style.width).toBe('50%');

    const item = within(starter.closest('li'));
    expect(item.getByText('50 %')).toBeTruthy();
    const next = item.getByText(/Next:/);
    expect(next.textContent).toBe('Next: One more of: Earn Web Foundations, Earn Data Analysis with Python');
    // A required credential in progress links to its card on "My credentials", one not started to its course.
    expect(item.getByRole('link', { name: 'Earn Data Analysis with Python' }).getAttribute('href'))
      .toBe('https://lms.example.org/microcred/my/#credential-data-analysis');
    expect(item.getByRole('link', { name: 'Earn Web Foundations' }).getAttribute('href'))
      .toBe('https://lms.example.org/courses/course-v1:DemoX+WEB101+2026/');

    const all = screen.getByRole('link', { name: 'View all my credentials' });
    expect(all.getAttribute('href')).toBe('https://lms.example.org/microcred/my/');
  });

  it('links a course requirement to the course', async () => {
    render(<MicrocredWidget fetcher={async () => dashboard} maxItems={10} />);
    const bar = await screen.findByRole('progressbar', { name: 'Data Analysis with Python' });
    const link = within(bar.closest('li')).getByRole('link');
    expect(link.textContent).toBe('Reach a grade of at least 70 % in Data Analysis with Python');
    expect(link.getAttribute('href')).toBe('https://lms.example.org/courses/course-v1:DemoX+PY201+2026/');
    expect(screen.getAllByRole('progressbar')).toHaveLength(4);
  });

  it('has an empty state', async () => {
    render(<MicrocredWidget fetcher={async () => empty} />);
    expect(await screen.findByText('No credentials yet. Badges appear here as you complete courses.')).toBeTruthy();
    expect(screen.queryByRole('progressbar')).toBeNull();
    expect(screen.queryByText(/badges earned/)).toBeNull();
    expect(screen.getByRole('link', { name: 'View all my credentials' }).getAttribute('href'))
      .toBe('https://lms.example.org/microcred/my/');
  });

  it('says when nothing is in progress but badges are held', async () => {
    render(<MicrocredWidget fetcher={async () => ({ ...empty, badges_count: 1 })} />);
    expect(await screen.findByText('1 badge earned')).toBeTruthy();
    expect(screen.queryByRole('list')).toBeNull();
  });

  it('shows an error with a retry that loads again', async () => {
    const fetcher = vi.fn()
      .mockRejectedValueOnce(new Error('HTTP 500'))
      .mockResolvedValueOnce(dashboard);
    render(<MicrocredWidget fetcher={fetcher} lmsBaseUrl="https://lms.example.org" />);

    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('Your credentials could not be loaded.');
    expect(screen.getByRole('link', { name: 'View all my credentials' }).getAttribute('href'))
      .toBe('https://lms.example.org/microcred/my/');

    fireEvent.click(within(alert).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByText('2 badges earned')).toBeTruthy();
    expect(screen.queryByRole('alert')).toBeNull();
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('uses the heading level and the words it is given', async () => {
    render(
      <MicrocredWidget
        fetcher={async () => dashboard}
        headingLevel={3}
        messages={{ title: 'Mes certifications', badgesEarned: (n) => `${n} badges obtenus` }}
      />,
    );
    expect(screen.getByRole('heading', { level: 3 }).textContent).toBe('Mes certifications');
    expect(await screen.findByText('2 badges obtenus')).toBeTruthy();
    expect(screen.getByRole('region', { name: 'Mes certifications' })).toBeTruthy();
  });

  it('ignores a late answer to an earlier request', async () => {
    const first = deferred();
    const second = deferred();
    const fetcher = vi.fn((url) => (url.startsWith('https://old.example.org') ? first.promise : second.promise));
    const { rerender } = render(<MicrocredWidget fetcher={fetcher} lmsBaseUrl="https://old.example.org" />);
    rerender(<MicrocredWidget fetcher={fetcher} lmsBaseUrl="https://new.example.org" />);
    await act(async () => { second.resolve({ ...empty, badges_count: 5 }); });
    await act(async () => { first.resolve({ ...empty, badges_count: 1 }); });
    expect(screen.getByText('5 badges earned')).toBeTruthy();
    expect(screen.queryByText('1 badge earned')).toBeNull();
    expect(fetcher).toHaveBeenCalledTimes(2);
  });

  it('is made for the learner dashboard sidebar slot', () => {
    expect(SIDEBAR_SLOT_ID).toBe('org.openedx.frontend.learner_dashboard.widget_sidebar.v1');
  });
});

describe('badge images', () => {
  it('shows the newest badges as images linked to their public pages, or their initials', async () => {
    render(<MicrocredWidget fetcher={async () => dashboard} />);
    const shelf = (await screen.findByText('2 badges earned')).nextElementSibling;
    const links = within(shelf).getAllByRole('link');
    expect(links.map((link) => link.getAttribute('href'))).toEqual(dashboard.badges.map((b) => b.public_url));
    // An uploaded badge: its image, named by the credential's title.
    const image = within(links[0]).getByRole('img', { name: 'Python Foundations' });
    expect(image.tagName).toBe('IMG');
    expect(image.getAttribute('src')).toBe(dashboard.badges[0].image_url);
    // No image from the LMS: a disc with the initials, still named by the title.
    const initialsDisc = within(links[1]).getByRole('img', { name: 'Python Programmer — Bronze' });
    expect(initialsDisc.tagName).toBe('SPAN');
    expect(initialsDisc.textContent).toBe('PP');
  });

  it('shows at most maxBadges images and says how many more there are', async () => {
    const many = {
      ...dashboard,
      badges_count: 9,
      badges: Array.from({ length: 9 }, (_, i) => ({ ...dashboard.badges[0], uuid: `u${i}`, title: `Badge ${i}` })),
    };
    render(<MicrocredWidget fetcher={async () => many} maxBadges={4} />);
    const more = await screen.findByRole('link', { name: '5 more badges' });
    expect(more.getAttribute('href')).toBe(dashboard.my_credentials_url);
    expect(screen.getAllByRole('img').filter((img) => img.closest('.microcred-widget-badges'))).toHaveLength(4);
  });

  it('puts each credential in progress next to its badge, which the title names already', async () => {
    render(<MicrocredWidget fetcher={async () => dashboard} />);
    const gold = (await screen.findByRole('progressbar', { name: 'Python Programmer — Gold' })).closest('li');
    const image = gold.querySelector('img.microcred-widget-badge-image');
    expect(image.getAttribute('src')).toBe('https://lms.example.org/microcred/badges/5f0c-gold/badge.svg');
    expect(image.getAttribute('alt')).toBe('');  // decorative here: the title is beside it
    const starter = screen.getByRole('progressbar', { name: 'Full-Stack Starter' }).closest('li');
    expect(starter.querySelector('.microcred-widget-badge-initials').getAttribute('aria-hidden')).toBe('true');
  });

  it('makes initials of the first two words', () => {
    expect(initials('Python Programmer — Gold')).toBe('PP');
    expect(initials('web')).toBe('W');
    expect(initials('')).toBe('?');
  });
});
