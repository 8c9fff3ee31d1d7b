"""Which tests written for earlier issues cover which security-matrix rows, declared here instead
of as markers in their files (their owners were still editing them): nodeid glob -> rows, and how
many cases one item tries where the test runs a loop of ``count(...)`` cases (the same call, so CI
and soak counts follow the test). Anything else counts one case per passing item. Applied by the
collection hook in tests/conftest.py; a test's own ``matrix_cases(n)`` report wins over this.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from counts import count


@dataclass(frozen=True)
class Rule:
    glob: str
    rows: tuple[int, ...]
    cases: int = 1  # per passing item


def _r(glob: str, *rows: int, cases: int = 1) -> Rule:
    return Rule(glob if "::" in glob or glob.endswith("*") else glob + "::*", rows, cases)


T = "tests/"
RULES: tuple[Rule, ...] = (
    # -- the engines: srp / protocol ---------------------------------------------------------------
    _r(T + "test_protocol_server.py::test_unsafe_a_is_rejected_before_any_work_with_b*", 1, 2),
    _r(T + "test_protocol_server.py::test_forged_block_with_a_zero_class_and_s_zero_proof*", 1),
    _r(T + "test_srp_cognito.py::test_server_rejects_bad_A_before_any_work*", 1, 2),
    _r(T + "test_srp_cognito.py::test_server_rejects_bad_SRP_A_text*", 2),
    _r(T + "test_srp_cognito.py::test_the_extreme_valid_public_values_are_accepted*", 2, 3),
    _r(T + "test_srp_encoding.py::test_parse_hex_*", 2),
    _r(T + "test_srp_cognito.py::test_client_rejects_bad_*", 3),
    _r(T + "test_protocol_client.py::test_rogue_b_is_refused_before_secret_work*", 3),
    _r(T + "test_protocol_client.py::test_u_zero_aborts_*", 4),
    _r(T + "test_srp_cognito.py::test_u_zero_aborts_both_roles*", 4),
    _r(T + "test_srp_cognito.py::test_a_hash_yielding_u_zero_aborts_both_roles*", 4),
    _r(
        T + "test_srp_interop_node.py::test_user_round_trips_against_amazon_cognito_identity_js*",
        5,
        cases=count(ci=300, soak=20000),
    ),
    _r(
        T + "test_srp_interop_node.py::test_device_verifier_and_device_sign_in_against_*",
        5,
        cases=count(ci=30, soak=2000),
    ),
    _r(T + "test_srp_interop_node.py::test_a_wrong_input_on_the_node_side_fails_our_check*", 5),
    _r(
        T + "test_srp_interop_srptools.py::test_*_against_*",
        5,
        cases=count(ci=1000, soak=20000) // 4,  # ROUND_TRIPS // len(SETTINGS), per setting
    ),
    _r(
        T + "test_srp_interop_pycognito.py::test_user_and_device_keys_agree_with_pycognito*",
        5,
        cases=count(ci=50, soak=2000),
    ),
    _r(T + "test_vectors_cognito_edge.py", 5),
    _r(T + "test_protocol_interop.py", 5),
    _r(
        T + "test_protocol_server.py::test_wrong_secret_is_always_the_uniform_error*",
        6,
        cases=count(ci=30, soak=1000),
    ),
    _r(
        T + "test_protocol_properties.py::test_wrong_secret_always_fails*",
        6,
        cases=count(ci=40, soak=1000),
    ),
    _r(
        T + "test_protocol_properties.py::test_user_step_right_password_succeeds_wrong_fails*",
        6,
        cases=count(ci=40, soak=1000),
    ),
    _r(
        T + "test_protocol_server.py::test_stolen_verifier_cannot_log_in*",
        7,
        cases=count(ci=3, soak=100),
    ),
    _r(T + "test_protocol_sealed.py::test_a_forged_block_with_a_leaked_key_does_not_log_in*", 7),
    _r(T + "test_protocol_sealed.py::test_a_leaked_sealing_key_does_not_reveal_b_or_v*", 7),
    _r(T + "test_protocol_server.py::test_replayed_proof_carries_the_same_challenge_id*", 8),
    _r(T + "test_protocol_server.py::test_cross_binding_fails*", 10),
    _r(T + "test_protocol_server.py::test_flow_swap_fails*", 10, 11),
    _r(T + "test_protocol_server.py::test_device_step_must_name_the_records_device*", 10),
    _r(T + "test_protocol_sealed.py::test_context_binding*", 10),
    _r(T + "test_protocol_sealed.py::test_context_encoding_is_unambiguous*", 10),
    _r(
        T + "test_protocol_properties.py::test_context_swap_always_fails*",
        10,
        cases=count(ci=40, soak=1000),
    ),
    _r(T + "test_protocol_client.py::test_transition_table_is_the_only_order*", 11),
    _r(T + "test_protocol_client.py::test_calls_out_of_order_are_local_errors_and_terminal*", 11),
    _r(T + "test_protocol_client.py::test_challenge_for_another_device_is_refused*", 10),
    _r(T + "test_srp_timestamp.py", 12),
    _r(T + "test_protocol_server.py::test_unparsable_timestamp_is_a_parameter_error*", 12),
    _r(T + "test_protocol_server.py::test_signature_over_non_canonical_timestamp_fails*", 12),
    _r(T + "test_protocol_server.py::test_timestamp_skew_window*", 13),
    _r(T + "test_protocol_server.py::test_skew_window_is_configurable*", 13),
    _r(T + "test_protocol_server.py::test_block_from_the_future_beyond_the_skew_window*", 13, 14),
    _r(T + "test_protocol_server.py::test_challenge_lifetime*", 14),
    _r(T + "test_protocol_server.py::test_lifetime_is_configurable*", 14),
    _r(T + "test_protocol_sealed.py::test_every_single_bit_flip_is_rejected*", 15),
    _r(T + "test_protocol_sealed.py::test_truncation_and_extension_are_rejected*", 15),
    _r(T + "test_protocol_sealed.py::test_base64_variants_are_rejected*", 15),
    _r(T + "test_protocol_sealed.py::test_engine_block_flips_fail_finish_too*", 15),
    _r(
        T + "test_protocol_sealed.py::test_a_key_with_the_same_id_but_other_bytes_does_not_open*",
        15,
    ),
    _r(
        T + "test_protocol_properties.py::test_any_flipped_byte_of_any_message_fails*",
        15,
        cases=count(ci=40, soak=1000),
    ),
    _r(T + "test_protocol_sealed.py::test_rotation_and_retirement*", 16),
    _r(T + "test_protocol_server.py::test_key_rotation_keeps_logins_in_flight*", 16),
    _r(T + "test_srp_cognito.py::test_secrets_cross_into_modexp_as_fixed_length_bytes*", 22),
    _r(T + "test_srp_cognito.py::test_outputs_have_fixed_sizes*", 22),
    _r(T + "test_srp_cognito.py::test_secret_sizes_and_types_are_checked*", 22),
    _r(T + "test_srp_cognito.py::test_zero_a_and_wrong_verifier_width_are_refused*", 22),
    _r(T + "test_layering.py::test_modexp_is_the_only_place_for_modular_exponentiation*", 22),
    _r(T + "test_layering.py::test_the_scan_catches_what_it_bans*", 22),
    _r(T + "test_modexp_api.py::test_bad_values_raise_invalid_parameter*", 22),
    _r(T + "test_modexp_api.py::test_variable_time_backend_refuses_secret_work*", 22),
    _r(T + "test_protocol_timing.py", 23, cases=count(ci=4000, soak=20000)),
    _r(T + "test_protocol_client.py::test_*server_proof*", 24),
    _r(T + "test_protocol_client.py::test_proof_from_another_handshake_is_refused*", 24),
    _r(T + "test_srp_groups.py", 25),
    _r(T + "test_protocol_client.py::test_secrets_stay_out_of_repr*", 26),
    _r(T + "test_protocol_sealed.py::test_state_repr_hides_b*", 26),
    _r(T + "test_srp_cognito.py::test_errors_never_contain_the_secret*", 26),
    _r(T + "test_modexp_api.py::test_error_messages_never_show_the_secret_exponent*", 26),
    _r(T + "test_srp_cognito.py::test_bad_salt_text*", 35),
    _r(T + "test_srp_cognito.py::test_salt_size_limits*", 35),
    _r(T + "test_srp_cognito.py::test_password_verifier_*", 35),
    # -- the arithmetic core --------------------------------------------------------------------
    _r(T + "test_native_dudect.py", 21, cases=count(ci=10_000, soak=100_000) * 2),
    _r(T + "test_native_valgrind.py", 21),
    _r(
        T + "test_modexp_differential.py::test_powmod_secret_and_public_match_oracle*",
        32,
        cases=count(ci=10_000, soak=100_000),
    ),
    _r(
        T + "test_modexp_differential.py::test_fixed_base_matches_oracle*",
        32,
        cases=count(ci=40, soak=400),
    ),
    _r(
        T + "test_modexp_differential.py::test_fused_srp_operations_match_formulas*",
        32,
        cases=count(ci=300, soak=3_000),
    ),
    # -- the identity-provider domain over a real store (SQLite and PostgreSQL) ------------------
    _r(T + "test_server_signin.py::test_unsafe_or_malformed_srp_a_is_refused*", 1, 2),
    _r(T + "test_server_signin.py::test_wrong_password_is_the_uniform_refusal*", 6),
    _r(T + "test_server_signin.py::test_wrong_device_password_fails_and_no_tokens*", 6),
    _r(T + "test_server_signin.py::test_replay_of_a_valid_proof_fails*", 8),
    _r(T + "test_server_signin.py::test_stale_device_then_exactly_one_deviceless_resend*", 8, 18),
    _r(T + "test_server_signin.py::test_deviceless_resend_*", 8),
    _r(T + "test_server_signin.py::test_sessionless_device_step_without_password_step*", 11),
    _r(T + "test_server_signin.py::test_ticket_expires_after_its_lifetime*", 14),
    _r(T + "test_server_signin.py::test_timestamp_format*", 12),
    _r(
        T + "test_server_security.py::test_concurrent_replay_exactly_one_success*",
        9,
        cases=count(ci=50, soak=200) * 100,
    ),
    _r(
        T + "test_server_security.py::test_unknown_names_get_stable_fake_challenges*",
        17,
        cases=count(ci=200, soak=1000),
    ),
    _r(T + "test_server_security.py::test_unknown_names_lock_like_known_ones*", 17, 19),
    _r(T + "test_server_security.py::test_lockout_schedule_with_injected_clock*", 19),
    _r(T + "test_server_security.py::test_password_and_device_failures_share_one_counter*", 19),
    _r(T + "test_server_security.py::test_concurrent_wrong_proofs_keep_the_counter_exact*", 19),
    _r(T + "test_server_security.py::test_cross_binding_is_refused*", 10),
    _r(T + "test_server_security.py::test_state_order*", 11),
    _r(T + "test_server_security.py::test_every_flipped_session_byte_is_refused*", 15),
    _r(T + "test_server_security.py::test_challenge_expiry*", 14),
    _r(T + "test_server_lockout.py", 19),
    _r(T + "test_server_scaleout.py::test_lockout_counters_exact_across_processes*", 19, 31),
    _r(T + "test_server_scaleout.py::test_sign_in_begun_on_one_finishes_on_the_other*", 31),
    _r(T + "test_server_mfa.py::test_a_device_step_cannot_skip_mfa*", 11),
    _r(T + "test_server_mfa.py::test_mfa_session_is_single_use*", 8),
    _r(T + "test_server_devices.py::test_confirm_device_bounds_store_nothing*", 35),
    _r(T + "test_server_devices.py::test_boundary_verifiers_are_accepted*", 35),
    _r(T + "test_server_devices.py::test_confirm_is_idempotent_and_never_overwritten*", 29),
    _r(T + "test_server_devices.py::test_key_must_belong_to_the_caller*", 10),
    _r(T + "test_server_devices.py::test_forget_between_device_steps_gives_no_tokens*", 30),
    _r(T + "test_server_devices.py::test_unknown_and_forgotten_keys_get_the_same_answer*", 18),
    _r(T + "test_server_tokens.py::test_sealing_key_rotation_does_not_break_sign_ins*", 16),
    _r(T + "test_server_tokens.py::test_a_rotation_by_another_process_is_seen_after_*", 16),
    _r(T + "test_server_tokens.py::test_fake_salts_survive_rotation*", 17),
    _r(T + "test_server_tokens.py::test_refresh_token_is_stored_hashed*", 26),
    _r(T + "test_server_tokens.py::test_keys_at_rest_need_the_kek*", 26),
    _r(T + "test_server_faults.py", 28),
    # -- the stores ------------------------------------------------------------------------------
    _r(
        T + "test_store_races.py::test_100_concurrent_consumes_exactly_one_wins*",
        9,
        cases=count(ci=50, soak=200) * 100,
    ),
    _r(
        T + "test_store_races.py::test_100_concurrent_consumes_across_processes*",
        9,
        cases=count(ci=20, soak=200),
    ),
    _r(T + "test_store_races.py::test_the_race_test_catches_a_check_then_insert*", 9),
    _r(
        T + "test_store_races.py::test_20_concurrent_identical_confirmations_make_one_record*",
        29,
        cases=count(ci=20, soak=200) * 20,
    ),
    _r(
        T + "test_store_races.py::test_conflicting_concurrent_confirmations_never_overwrite*",
        29,
        cases=count(ci=20, soak=200),
    ),
    _r(
        T + "test_store_races.py::test_lockout_increments_are_not_lost_across_processes*",
        19,
        cases=10 * count(ci=10, soak=100),
    ),
    _r(
        T + "test_store_crash.py::test_sqlite_survives_sigkill_cycles*",
        27,
        31,
        cases=count(ci=100, soak=1000),
    ),
    _r(
        T + "test_store_crash.py::test_postgres_survives_sigkill_cycles*",
        27,
        31,
        cases=count(ci=30, soak=300),
    ),
    _r(T + "test_store_faults.py", 28),
    _r(T + "test_store_parity.py", 31, cases=count(ci=25, soak=300) * 25),
    # -- the HTTP service (in-process ASGI app, uvicorn thread, or `devicesrp serve`) -------------
    _r(
        T + "test_http_fuzz.py::test_generated_bad_values_never_5xx*",
        20,
        cases=count(ci=150, soak=10_000),
    ),
    _r(
        T + "test_http_fuzz.py::test_transport_rejections_are_cheap*",
        20,
        cases=count(ci=150, soak=10_000) * 4,
    ),
    _r(T + "test_http_transport.py::test_malformed_json_is_a_serialization_error*", 20),
    _r(T + "test_http_transport.py::test_wrongly_typed_members_are_invalid_parameters*", 20),
    _r(T + "test_http_transport.py::test_body_over_the_cap_is_refused_from_content_length*", 20),
    _r(T + "test_http_transport.py::test_chunked_body_is_cut_at_the_cap*", 20),
    _r(T + "test_http_transport.py::test_admin_*", 33),
    _r(T + "test_http_transport.py::test_mutating_admin_request_replayed_is_refused*", 33),
    _r(T + "test_http_transport.py::test_read_only_admin_request_may_repeat*", 33),
    _r(T + "test_http_transport.py::test_tampered_signed_body_is_refused*", 33),
    _r(T + "test_http_transport.py::test_throttling_refuses_before_the_operation*", 34),
    _r(T + "test_http_transport.py::test_access_log_has_one_line_per_request_and_no_secrets*", 26),
    _r(T + "test_http_serve.py::test_flood_from_one_address_is_throttled*", 34),
    _r(T + "test_http_serve.py::test_two_workers_share_state_and_the_log_holds_no_secrets*", 26),
    _r(T + "test_http_service.py::test_admin_refusals_change_nothing*", 33, 31),
    _r(T + "test_http_service.py::test_stale_device_retry_is_allowed_exactly_once*", 8, 18, 31),
    _r(T + "test_http_service.py::test_unknown_operation_and_bad_input_on_the_real_service*", 20),
    _r(T + "test_client_service.py::test_a_tampered_server_proof_keeps_no_tokens*", 24),
    _r(
        T + "test_client_service.py::test_a_missing_server_proof_is_refused_only_when_required*", 24
    ),
    _r(T + "test_client_service.py::test_wrong_device_password_is_refused_and_the_device_kept*", 6),
    _r(T + "test_client_service.py::test_stale_device_is_cleared_and_the_sign_in_retried*", 8, 18),
)


def lookup(nodeid: str) -> dict[int, int]:
    """row -> cases per passing item, over every rule matching ``nodeid``."""
    out: dict[int, int] = {}
    for rule in RULES:
        if fnmatch.fnmatchcase(nodeid, rule.glob):
            for row in rule.rows:
                out[row] = max(out.get(row, 0), rule.cases)
    return out
