fn main() {
    afl::fuzz!(|data: &[u8]| wafer_engine::fuzzing::graphql(data));
}
