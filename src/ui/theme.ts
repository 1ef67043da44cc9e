// Light and dark: the system's choice (prefers-color-scheme) unless the person picked one, kept in localStorage.

/** The person's choice. */
export type ThemeChoice = 'auto' | 'light' | 'dark';

const KEY = 'portolan-theme';
const ORDER: readonly ThemeChoice[] = ['auto', 'light', 'dark'];

/** The stored choice (auto when none or unreadable). */
export function storedTheme(): ThemeChoice {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : 'auto';
  } catch {
    // Storage disabled (privacy settings): the system's choice.
    return 'auto';
  }
}

/**
 * Applies a choice to the page and stores it: `data-theme` on <html> is always the theme in force (`auto`
 * resolved from the system's), so the stylesheet lists each palette once. Call again when the system's changes.
 */
export function applyTheme(choice: ThemeChoice): void {
  const resolved = choice === 'auto' ? (window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light') : choice;
  document.documentElement.setAttribute('data-theme', resolved);
  try {
    localStorage.setItem(KEY, choice);
  } catch {
    // Not stored: the choice lasts for this page only.
  }
}

/** The choice after `current` (auto → light → dark → auto). */
export function nextTheme(current: ThemeChoice): ThemeChoice {
  return ORDER[(ORDER.indexOf(current) + 1) % ORDER.length] ?? 'auto';
}
