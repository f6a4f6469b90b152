//! Scratch: detection on a local file (not committed).
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("file");
    let url = args.next().unwrap_or_else(|| "https://example.test/".into());
    let bytes = std::fs::read(&path).unwrap();
    let html = grandma_engine::fetch::charset::decode(bytes, None);
    let doc = scraper::Html::parse_document(&html);
    if let Ok(sel) = std::env::var("GEN") {
        let sel = scraper::Selector::parse(&sel).unwrap();
        let ex: Vec<_> = doc.select(&sel).skip(3).step_by(40).take(2).collect();
        let u = url::Url::parse(&url).unwrap();
        let t = std::time::Instant::now();
        for _ in 0..20 { let _ = grandma_engine::detect::generalise(&doc, &u, &ex, &[]); }
        eprintln!("generalise x20: {:?}", t.elapsed());
        let c = grandma_engine::detect::generalise(&doc, &u, &ex, &[]).unwrap();
        println!("{} {}", c.item_selector, c.count);
        return;
    }
    let t = std::time::Instant::now();
    let d = grandma_engine::detect::detect(&doc, &url::Url::parse(&url).unwrap());
    eprintln!("{:?}", t.elapsed());
    if std::env::var("FULL").is_ok() {
        println!("{}", serde_json::to_string_pretty(&d).unwrap());
        return;
    }
    for (i, c) in d.candidates.iter().enumerate() {
        println!("#{} {} count={} score={:.1}", i + 1, c.item_selector, c.count, c.score);
        for f in &c.fields {
            println!("   {:12} {:40} {} {:?} filled={}", f.name, f.selector, f.attribute, f.custom_attribute, f.filled);
        }
        if let Some(r) = c.sample.first() {
            println!("   {}", serde_json::to_string(r).unwrap());
        }
    }
    println!("pagination: {:?}", d.pagination);
    println!("warnings: {:?}", d.warnings);
}
