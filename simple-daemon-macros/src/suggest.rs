//! "Did you mean ...?": the nearest valid word to a misspelt one.

/// The candidate nearest to `word`, if it is near enough to be a likely misspelling.
///
/// Distance is the optimal string alignment distance (a swap of two neighbours counts as one
/// edit, so `intreval` is one edit from `interval`), compared without regard to case. A
/// candidate is near enough when at most a third of the word's letters (at least one, at most
/// three) need an edit.
pub(crate) fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (distance(&word, &c.to_lowercase()), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance between `a` and `b`.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // d[i][j]: distance between a[..i] and b[..j].
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_transpositions_and_typos() {
        let keys = ["name", "mode", "interval", "level", "log_path"];
        assert_eq!(nearest("intreval", keys), Some("interval"));
        assert_eq!(nearest("mdoe", keys), Some("mode"));
        assert_eq!(nearest("levl", keys), Some("level"));
        assert_eq!(nearest("colour", keys), None);
        assert_eq!(
            nearest("agressive", ["passive", "aggressive"]),
            Some("aggressive")
        );
        assert_eq!(nearest("PASSIVE", ["passive", "aggressive"]), Some("passive"));
    }
}
