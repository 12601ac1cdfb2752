import { cleanup, render, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';

import { DEMO, DevPage } from './DevPage';

afterEach(cleanup);

describe('the dev page', () => {
  it("renders the widget against the demo's JSON: ada's badges", async () => {
    render(<DevPage learner="ada" />);
    const widget = await screen.findByRole('region', { name: 'My credentials' });
    const count = DEMO.ada.badges_count;
    expect(within(widget).getByText(`${count} badges earned`)).toBeTruthy();
    const shelf = widget.querySelector('.microcred-widget-badges');
    const shown = Math.min(6, DEMO.ada.badges.length);
    expect(within(shelf).getAllByRole('img')).toHaveLength(shown);
    expect(within(shelf).getAllByRole('img').map((img) => img.getAttribute('aria-label') || img.getAttribute('alt')))
      .toEqual(DEMO.ada.badges.slice(0, shown).map((badge) => badge.title));
    if (count > shown) {
      expect(within(widget).getByRole('link', { name: `${count - shown} more badge${count - shown === 1 ? '' : 's'}` }))
        .toBeTruthy();
    }
  });

  it("renders grace's stacks in progress with their progress bars", async () => {
    render(<DevPage learner="grace" />);
    const bars = await screen.findAllByRole('progressbar');
    const inProgress = DEMO.grace.progress.filter((item) => !item.earned).slice(0, 3);
    expect(bars.map((bar) => bar.getAttribute('aria-valuenow'))).toEqual(inProgress.map((i) => String(i.percent)));
  });
});
