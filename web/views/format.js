// How the page words things: a PLR name without its module path, a duration.

// "pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb" -> "cor_96_wellplate_360uL_Fb"
export const shortName = (fqn) => (fqn ?? "").split(".").pop();

export function formatSeconds(seconds) {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 120) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 120 ? `${minutes} min ${Math.round(seconds % 60)} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
