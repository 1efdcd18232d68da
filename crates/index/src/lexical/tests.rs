use super::*;

fn doc<'a>(chunk_id: i64, file_id: i64, content: &'a str, path: &'a str) -> LexicalDoc<'a> {
    LexicalDoc {
        chunk_id,
        file_id,
        repo_id: 1,
        language: "rust",
        symbols: "",
        content,
        path,
    }
}

fn words(q: &str) -> Vec<String> {
    q.split_whitespace().map(str::to_string).collect()
}

fn ids(hits: &[(i64, f32)]) -> Vec<i64> {
    hits.iter().map(|h| h.0).collect()
}

fn index_with(docs: &[LexicalDoc]) -> (tempfile::TempDir, LexicalIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = LexicalIndex::open(dir.path()).unwrap();
    let mut w = index.try_writer().unwrap().unwrap();
    for d in docs {
        w.add(d).unwrap();
    }
    w.commit("one").unwrap();
    w.finish().unwrap();
    (dir, index)
}

#[test]
fn finds_every_word_or_any_with_identifier_humps_and_stems() {
    let (_d, index) = index_with(&[
        doc(1, 1, "fn parseConfig(path: &str) {}", "src/a.rs"),
        doc(2, 2, "let config = load();", "src/b.rs"),
        doc(3, 3, "parsing happens here", "src/c.rs"),
    ]);
    let s = index.searcher().unwrap();
    let all = s
        .top(&words("parse config"), true, &Restriction::default(), 10)
        .unwrap();
    assert_eq!(ids(&all), vec![1]);
    let mut any = ids(&s
        .top(&words("parse config"), false, &Restriction::default(), 10)
        .unwrap());
    any.sort();
    assert_eq!(any, vec![1, 2, 3], "stemmed: parsing is found by parse");
    assert!(s
        .top(&words("nothing"), false, &Restriction::default(), 10)
        .unwrap()
        .is_empty());
}

#[test]
fn names_and_paths_outweigh_the_body() {
    let mut named = doc(1, 1, "body text", "src/x.rs");
    named.symbols = "retry";
    let (_d, index) = index_with(&[
        doc(2, 2, "retry once more and that is body text", "src/y.rs"),
        named,
        doc(3, 3, "body text", "src/retry.rs"),
    ]);
    let hits = index
        .searcher()
        .unwrap()
        .top(&words("retry"), true, &Restriction::default(), 10)
        .unwrap();
    assert_eq!(ids(&hits), vec![1, 3, 2]);
}

#[test]
fn ties_at_the_cut_are_all_kept_and_better_rows_never_dropped() {
    let copies: Vec<String> = (0..50).map(|i| format!("copy{i:02}/lib.rs")).collect();
    let mut docs: Vec<LexicalDoc> = copies
        .iter()
        .enumerate()
        .map(|(i, p)| doc(i as i64 + 10, i as i64 + 10, "socket timeout", p))
        .collect();
    docs.push(doc(1, 1, "socket timeout socket timeout socket", "best.rs"));
    let (_d, index) = index_with(&docs);
    let hits = index
        .searcher()
        .unwrap()
        .top(&words("socket timeout"), true, &Restriction::default(), 3)
        .unwrap();
    assert_eq!(hits[0].0, 1, "the better row comes first");
    assert_eq!(hits.len(), 51, "every copy tied with the third is kept");
}

#[test]
fn restrictions_and_deletes() {
    let mut other = doc(3, 3, "cookie jar", "web/c.rs");
    other.repo_id = 2;
    other.language = "python";
    let (_d, index) = index_with(&[
        doc(1, 1, "cookie jar", "src/a.rs"),
        doc(2, 2, "cookie", "src/b.rs"),
        other,
    ]);
    let s = index.searcher().unwrap();
    let repo = Restriction {
        repo_id: Some(2),
        ..Restriction::default()
    };
    assert_eq!(
        ids(&s.top(&words("cookie jar"), false, &repo, 10).unwrap()),
        vec![3]
    );
    let lang = Restriction {
        language: Some("rust"),
        ..Restriction::default()
    };
    let mut rust = ids(&s.top(&words("cookie"), true, &lang, 10).unwrap());
    rust.sort();
    assert_eq!(rust, vec![1, 2]);
    let files: HashSet<i64> = [2].into();
    let skip: HashSet<i64> = [1].into();
    let only = Restriction {
        files: Some(&files),
        ..Restriction::default()
    };
    assert_eq!(
        ids(&s.top(&words("cookie"), true, &only, 10).unwrap()),
        vec![2]
    );
    assert_eq!(s.matching(&words("cookie"), &only).unwrap(), vec![2]);
    let skipping = Restriction {
        skip: Some(&skip),
        ..lang
    };
    assert_eq!(
        ids(&s.top(&words("cookie"), true, &skipping, 10).unwrap()),
        vec![2]
    );
    let mut all = s
        .matching(&words("cookie jar"), &Restriction::default())
        .unwrap();
    all.sort();
    assert_eq!(all, vec![1, 3]);

    let mut w = index.try_writer().unwrap().unwrap();
    assert!(
        index.try_writer().unwrap().is_none(),
        "one writer at a time"
    );
    // Files 1 and 3 in one deletion (and one that is not there); what is added after it
    // stays, whatever its file.
    w.delete_files(&[1, 3, 99]).unwrap();
    w.add(&doc(4, 1, "no longer", "src/a.rs")).unwrap();
    w.commit("two").unwrap();
    w.finish().unwrap();
    assert_eq!(index.committed_payload().unwrap().as_deref(), Some("two"));
    let s = index.searcher().unwrap();
    let left = s
        .matching(&words("cookie"), &Restriction::default())
        .unwrap();
    assert_eq!(left, vec![2]);
    assert_eq!(s.num_docs(), 2);
    assert_eq!(
        s.matching(&words("longer"), &Restriction::default())
            .unwrap(),
        vec![4]
    );
}

#[test]
fn an_uncommitted_write_is_lost_and_another_process_sees_commits() {
    let (dir, index) = index_with(&[doc(1, 1, "alpha", "a.rs")]);
    let mut w = index.try_writer().unwrap().unwrap();
    w.add(&doc(2, 2, "alpha beta", "b.rs")).unwrap();
    drop(w);
    let again = LexicalIndex::open_existing(dir.path()).unwrap().unwrap();
    assert_eq!(again.searcher().unwrap().num_docs(), 1);
    let mut w = again.try_writer().unwrap().unwrap();
    w.add(&doc(2, 2, "alpha beta", "b.rs")).unwrap();
    w.commit("x").unwrap();
    w.finish().unwrap();
    assert_eq!(
        index.searcher().unwrap().num_docs(),
        2,
        "the first reader reloads"
    );
    assert!(LexicalIndex::open_existing(&dir.path().join("none"))
        .unwrap()
        .is_none());
}

#[test]
fn merges_over_the_cap_keep_their_smallest_segments_that_fit() {
    let (schema, _) = schema();
    let index = Index::create_in_ram(schema);
    let segment = |docs: u32| index.new_segment_meta(SegmentId::generate_random(), docs);
    // Twelve segments of one level: the log policy asks for all of them (900k documents).
    let level: Vec<SegmentMeta> = (0..12).map(|i| segment(70_000 + i * 1_000)).collect();
    let candidates = CappedMerges::default().compute_merge_candidates(&level);
    assert!(!candidates.is_empty(), "a full level must still be merged");
    for MergeCandidate(ids) in &candidates {
        let docs: u32 = ids
            .iter()
            .map(|id| level.iter().find(|s| s.id() == *id).unwrap().num_docs())
            .sum();
        assert!(
            ids.len() >= 2 && docs <= MAX_MERGED_DOCS,
            "{} segments, {docs} docs",
            ids.len()
        );
    }
    let smallest = level
        .iter()
        .map(SegmentMeta::id)
        .take(2)
        .collect::<Vec<_>>();
    assert!(smallest.iter().all(|id| candidates[0].0.contains(id)));
    // Two segments whose sum is over the cap are left alone.
    let big = vec![segment(400_000), segment(450_000)];
    assert!(CappedMerges::default()
        .compute_merge_candidates(&big)
        .is_empty());
}
