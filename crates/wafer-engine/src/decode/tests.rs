use super::*;

#[test]
fn percent_decode_one_pass() {
    assert_eq!(url::percent_decode("a%20b%zz"), "a b%zz");
}
