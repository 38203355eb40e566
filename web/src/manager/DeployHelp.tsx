/** Copy-paste instructions for a first deploy: with git, or with the CLI. */
import { CopyBlock } from '../ui/components.js';

export function DeployHelp({ name, framed = true }: { name: string; framed?: boolean }) {
  const origin = location.origin;
  const git = `git remote add gantry ${origin}/git/${name}.git\ngit push gantry main`;
  const cli = `gantry login ${origin}\ngantry deploy -a ${name}`;
  return (
    <section className={framed ? 'g-card section' : 'm-help'} aria-labelledby="deploy-help">
      <h2 id="deploy-help" className={framed ? undefined : 'g-sr-only'}>
        Deploy your code
      </h2>
      <h3>With git</h3>
      <p>In your app&apos;s repository:</p>
      <CopyBlock label="git commands" text={git} />
      <p className="g-hint">
        When git asks, sign in with your Gantry username and password, or use an API token (from your Account
        page) as the password. The build output streams back to your terminal and shows here live.
      </p>
      <h3>With the Gantry CLI</h3>
      <p>In your app&apos;s folder (no git needed):</p>
      <CopyBlock label="CLI commands" text={cli} />
      <p className="g-hint">
        Or let the CLI set up git for you: <code>gantry git:remote -a {name}</code>, then{' '}
        <code>git push gantry main</code> uses your login.
      </p>
    </section>
  );
}
