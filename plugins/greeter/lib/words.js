// Text helpers, imported by index.js to show that a plugin may split its code
// into modules inside its own folder.

const MOTTOS = [
  'Nothing is allowed unless it was granted.',
  'Every use is an audit event.',
  'One worker per plugin, one ctx per worker.',
  'Pinned code, pinned grants.',
];

export const pickMotto = () => MOTTOS[Math.floor(Math.random() * MOTTOS.length)];

export const greetingFor = (name, hour) => {
  const part = hour < 12 ? 'Good morning' : hour < 18 ? 'Good afternoon' : 'Good evening';
  return `${part}, ${name}!`;
};
