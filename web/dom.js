// Small DOM helpers shared by the page's views.

export const $ = (selector, root = document) => root.querySelector(selector);

// h("tr", {class, "data-x": 1, onclick: fn}, ...children): an element; false/null attributes
// and children are left out, `true` attributes are set empty.
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined));
  return node;
}
