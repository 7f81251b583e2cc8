// The stylesheet of the views loaded on demand (Team, Activity, canned replies): views.css,
// added to the page once, by the first of them to load (so sign-in does not download it).
let applied = null;

/** Resolves once views.css applies (or failed to load: the view still works, plainer). */
export function viewStyles() {
  applied ??= new Promise((resolve) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = 'views.css';
    link.addEventListener('load', resolve);
    link.addEventListener('error', resolve);
    document.head.append(link);
  });
  return applied;
}
