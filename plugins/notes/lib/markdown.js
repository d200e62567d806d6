// Formats notes as a Markdown document.

const escapeMarkdown = (text) => text.replace(/([\\`*_[\]#<>])/g, '\\$1');

export const renderMarkdown = (notes) => {
  const lines = ['# Notes', ''];
  for (const note of notes) {
    const tags = note.tags.length > 0 ? ` (${note.tags.map((tag) => `#${escapeMarkdown(tag)}`).join(' ')})` : '';
    lines.push(`- ${escapeMarkdown(note.text)}${tags}, ${note.created.slice(0, 10)}`);
  }
  lines.push('');
  return lines.join('\n');
};
