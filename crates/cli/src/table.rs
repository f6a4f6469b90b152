//! A plain text table of items, for `grandma scrape` without an output file.

use grandma_engine::Item;

/// Renders `items` under `columns`, each cell cut to `width` characters.
pub fn render(columns: &[String], items: &[Item], width: usize) -> String {
    let cell = |s: &str| -> String {
        let flat: String = s
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if flat.chars().count() > width {
            let cut: String = flat.chars().take(width.saturating_sub(1)).collect();
            format!("{cut}…")
        } else {
            flat
        }
    };
    let header: Vec<String> = columns.iter().map(|c| cell(c)).collect();
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| i.values.iter().map(|v| cell(&v.to_cell())).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            rows.iter()
                .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                .chain([header[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" │ ")
            .trim_end()
            .to_owned()
    };
    let mut out = line(&header);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join("─┼─"),
    );
    for r in &rows {
        out.push('\n');
        out.push_str(&line(r));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use grandma_engine::FieldValue;

    #[test]
    fn aligns_and_cuts() {
        let cols = vec!["title".to_string(), "price".to_string()];
        let items = vec![
            Item::new(vec!["A very long title indeed".into(), "£1".into()]),
            Item::new(vec!["Short\nline".into(), FieldValue::Null]),
        ];
        let t = render(&cols, &items, 10);
        assert_eq!(
            t,
            "title      │ price\n───────────┼──────\nA very lo… │ £1\nShort line │"
        );
    }
}
