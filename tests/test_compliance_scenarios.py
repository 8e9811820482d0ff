"""Qualification scenarios, table-driven: each one answers the questionnaire of the regulatory
referential in force and asserts the result, the legal-review flags and the articles cited.

« Je ne sais pas » answers are asserted like the others, plus the questions the result names as
undetermined and the obligations it marks "to confirm" with the question each rests on.

The answers start from BASE (a bought AI tool, no device, no personal data, no high-risk use)
and each scenario overrides what makes it what it is. `Rulebook.clean` refuses an answer set
that misses a question the scenario made visible, so every scenario is a complete, valid
questionnaire as a user would fill it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest

from garant.compliance.models import Qualification
from garant.compliance.rules import UNSURE_FLAG, rulebook

BASE = {
    "technique": "learned",
    "research_only": False,
    "practices": ["none"],
    "medical_purpose": "no",
    "uses": ["none"],
    "exposure": ["none"],
    "origin": "vendor",
    "own_name": False,
    "purpose_change": False,
    "personal_data": "none",
    "legal_status": "public",
}
HEALTH_CARE = {
    "personal_data": "health",
    "subjects": ["patients"],
    "data_use": ["care"],
    "dpia_criteria": ["sensitive", "vulnerable"],
    "solely_automated": "no",
    "hosting": "on_premises",
}
STAFF = {
    "personal_data": "personal",
    "subjects": ["staff"],
    "data_use": ["management"],
    "dpia_criteria": ["scoring", "vulnerable"],
    "solely_automated": "no",
    "hosting": "on_premises",
}
STUDENTS = {**STAFF, "subjects": ["students"]}
TRIAGE = {"uses": ["emergency_triage"], "derogation": "none"}
DEPLOYER_26 = {
    "aia_26_1": "Art. 26(1)",
    "aia_26_2": "Art. 26(2)",
    "aia_26_4": "Art. 26(4)",
    "aia_26_5": "Art. 26(5)",
    "aia_26_5_incidents": "Art. 26(5) ; art. 73",
    "aia_26_6": "Art. 26(6)",
    "aia_26_7": "Art. 26(7)",
    "aia_26_12": "Art. 26(12)",
}
PROVIDER = {
    "aia_9_risk": "Art. 9",
    "aia_10_data": "Art. 10 ; art. 4a",
    "aia_11_documentation": "Art. 11 ; annexe IV",
    "aia_12_logging": "Art. 12",
    "aia_13_instructions": "Art. 13",
    "aia_14_oversight": "Art. 14",
    "aia_15_robustness": "Art. 15",
    "aia_17_qms": "Art. 16 et 17",
    "aia_43_conformity": "Art. 43",
    "aia_47_48_declaration": "Art. 47 et 48",
    "aia_72_pmm": "Art. 72",
    "aia_73_incidents": "Art. 73",
}


@dataclass
class Scenario:
    name: str
    answers: dict
    risk: str
    bases: set = field(default_factory=set)  # high-risk bases (codes)
    roles: list = field(default_factory=lambda: ["deployer"])
    prohibited: set = field(default_factory=set)
    transparency: set = field(default_factory=set)
    flags: set = field(default_factory=set)  # exactly these flags
    cites: dict = field(default_factory=dict)  # obligation code -> article cited
    absent: set = field(default_factory=set)  # obligations that must not be there
    fria: bool = False
    dpia: bool = False
    rule_11: str = ""
    dates: dict = field(default_factory=dict)  # obligation code -> (in force, original or None)
    grounds: set = field(default_factory=set)  # provider grounds (codes), when asserted
    to_confirm: dict = field(default_factory=dict)  # obligation code -> questions it rests on


def s(name, risk, overrides=None, **expected) -> Scenario:
    return Scenario(name, {**BASE, **(overrides or {})}, risk, **expected)


SCENARIOS = [
    # --- is it AI, is the AI Act in scope
    s(
        "rules written by humans only: not AI, GDPR still applies",
        "not_ai",
        {"technique": "rules_only", **HEALTH_CARE},
        roles=[],
        dpia=True,
        cites={
            "gdpr_35_dpia": "Art. 35 ; délibération CNIL n° 2018-327",
            "gdpr_9_exception": "Art. 9(2)(h), 9(2)(j)",
        },
        absent={"aia_4_literacy", "has_3_1_06"},
    ),
    s(
        "simple statistics: AI status uncertain, treated as AI",
        "minimal",
        {"technique": "simple_statistics"},
        flags={"ai_definition"},
        cites={"aia_4_literacy": "Art. 4 (modifié par 2026/1744)", "has_3_4_06": "Critère 3.4-06"},
    ),
    s(
        "research only: outside the AI Act (Art 2(6)), MR-004 for the reuse",
        "out_of_scope",
        {"research_only": True, **HEALTH_CARE, "data_use": ["research_reuse"]},
        roles=[],
        flags={"research_exclusion"},
        dpia=True,
        cites={"cnil_mr004": "Méthodologie de référence MR-004"},
        absent={"aia_4_literacy"},
    ),
    # --- prohibited practices (Art 5)
    s(
        "manipulative techniques",
        "prohibited",
        {"practices": ["manipulation"]},
        prohibited={"manipulation"},
        cites={"aia_5_cease": "Art. 5(1)"},
    ),
    s(
        "exploiting vulnerabilities",
        "prohibited",
        {**HEALTH_CARE, "practices": ["vulnerability"]},
        dpia=True,
        prohibited={"vulnerability"},
        cites={"aia_5_cease": "Art. 5(1)"},
    ),
    s(
        "social scoring of patients",
        "prohibited",
        {**HEALTH_CARE, "practices": ["social_scoring"]},
        dpia=True,
        prohibited={"social_scoring"},
    ),
    s(
        "staff emotion inference without medical reason",
        "prohibited",
        {
            "practices": ["emotion_workplace"],
            "emotion_reason": "none",
            "personal_data": "personal",
            "subjects": ["staff"],
            "data_use": ["management"],
            "dpia_criteria": ["monitoring"],
            "solely_automated": "no",
            "hosting": "on_premises",
        },
        prohibited={"emotion_workplace"},
        dpia=True,
        cites={
            "aia_5_cease": "Art. 5(1)",
            "gdpr_35_dpia": "Art. 35 ; délibération CNIL n° 2018-327",
        },
    ),
    s(
        "emotion inference for a medical reason: allowed, to be confirmed",
        "minimal",
        {**STAFF, "practices": ["emotion_workplace"], "emotion_reason": "medical"},
        dpia=True,
        flags={"emotion_medical"},
        absent={"aia_5_cease"},
    ),
    s(
        "biometric categorisation by sensitive attributes",
        "prohibited",
        {**STAFF, "practices": ["biometric_categorisation"]},
        dpia=True,
        prohibited={"biometric_categorisation"},
    ),
    s(
        "non-consensual intimate imagery: new ban from 02/12/2026",
        "prohibited",
        {**HEALTH_CARE, "practices": ["intimate_imagery"]},
        dpia=True,
        prohibited={"intimate_imagery"},
        dates={"aia_5_cease": (dt.date(2026, 12, 2), None)},
    ),
    # --- Annex III
    s(
        "remote biometric identification",
        "high",
        {**STAFF, "uses": ["biometric_identification"], "derogation": "none"},
        dpia=True,
        bases={"annex_iii_1a"},
        cites=DEPLOYER_26,
        fria=True,
        flags={"public_authority", "unconfirmed_facts"},
    ),
    s(
        "biometric categorisation (Annex III 1(b)) also informs the people exposed",
        "high",
        {**HEALTH_CARE, "uses": ["biometric_categorisation"], "derogation": "none"},
        dpia=True,
        bases={"annex_iii_1b"},
        transparency={"art50_3"},
        fria=True,
        flags={"public_authority", "unconfirmed_facts"},
        cites={"aia_50_3": "Art. 50(3)"},
    ),
    s(
        "patient emotion recognition",
        "high",
        {**HEALTH_CARE, "uses": ["emotion_recognition"], "derogation": "none"},
        dpia=True,
        bases={"annex_iii_1c"},
        transparency={"art50_3"},
        fria=True,
        flags={"public_authority", "unconfirmed_facts"},
    ),
    s(
        "nursing-school admission",
        "high",
        {**STUDENTS, "uses": ["education_admission"], "derogation": "none"},
        dpia=True,
        bases={"annex_iii_3a"},
        fria=True,
        flags={"public_authority", "unconfirmed_facts"},
    ),
    s(
        "student evaluation",
        "high",
        {**STUDENTS, "uses": ["education_evaluation"], "derogation": "none"},
        dpia=True,
        bases={"annex_iii_3b"},
        fria=True,
        flags={"public_authority", "unconfirmed_facts"},
    ),
    s(
        "CV screening",
        "high",
        {**STAFF, "uses": ["recruitment"], "derogation": "none", "legal_status": "private"},
        dpia=True,
        bases={"annex_iii_4a"},
        cites={"aia_26_11": "Art. 26(11)", "aia_86_explanation": "Art. 86"},
        absent={"aia_27_fria", "aia_49_3"},
    ),
    s(
        "task allocation on individual behaviour",
        "high",
        {
            **STAFF,
            "uses": ["worker_management"],
            "worker_traits": "yes",
            "derogation": "none",
            "legal_status": "private",
        },
        dpia=True,
        bases={"annex_iii_4b"},
    ),
    s(
        "staff allocation, whether on individual traits unknown: 4(b) as a precaution",
        "high",
        {
            **STAFF,
            "uses": ["worker_management"],
            "worker_traits": "unsure",
            "derogation": "none",
            "legal_status": "private",
        },
        dpia=True,
        bases={"annex_iii_4b"},
        flags={"unsure:worker_traits"},
        to_confirm={"aia_26_1": {"worker_traits"}, "aia_86_explanation": {"worker_traits"}},
    ),
    s(
        "Annex III use unknown: high-risk as a precaution, FRIA, every duty to confirm",
        "high",
        {**HEALTH_CARE, "uses": ["unsure"]},
        dpia=True,
        bases={"annex_iii_unknown"},
        fria=True,
        flags={"unsure:uses", "public_authority", "unconfirmed_facts"},
        cites={**DEPLOYER_26, "aia_27_fria": "Art. 27(1), 27(2), 27(4)"},
        to_confirm={
            "aia_26_1": {"uses"},
            "aia_27_fria": {"uses"},
            "aia_49_3": {"uses"},
            "aia_4_literacy": set(),
            "gdpr_35_dpia": set(),
        },
        dates={"aia_27_fria": (dt.date(2027, 12, 2), dt.date(2026, 8, 2))},
    ),
    s(
        "staff scheduling on activity only: borderline, not high-risk",
        "minimal",
        {**STAFF, "uses": ["worker_management"], "worker_traits": "no", "derogation": "none"},
        dpia=True,
        flags={"worker_borderline"},
        absent={"aia_26_1"},
    ),
    s(
        "access-to-care prioritisation (5(a), debated)",
        "high",
        {**HEALTH_CARE, "uses": ["healthcare_eligibility"], "derogation": "none"},
        dpia=True,
        bases={"annex_iii_5a"},
        fria=True,
        flags={"healthcare_eligibility", "public_authority", "unconfirmed_facts"},
    ),
    s(
        "emergency triage in a public hospital: FRIA, 02/12/2027 moved from 02/08/2026",
        "high",
        {**TRIAGE, **HEALTH_CARE},
        bases={"annex_iii_5d"},
        fria=True,
        dpia=True,
        flags={"public_authority", "unconfirmed_facts"},
        cites={
            **DEPLOYER_26,
            "aia_27_fria": "Art. 27(1), 27(2), 27(4)",
            "aia_27_notify": "Art. 27(3)",
            "aia_49_3": "Art. 49(3) ; annexe VIII, section C",
            "aia_26_8": "Art. 26(8)",
            "aia_26_9": "Art. 26(9) ; RGPD art. 35",
        },
        absent=set(PROVIDER),
        dates={
            "aia_27_fria": (dt.date(2027, 12, 2), dt.date(2026, 8, 2)),
            "aia_4_literacy": (dt.date(2025, 2, 2), None),
        },
    ),
    s(
        "emergency triage in a private clinic: no FRIA",
        "high",
        {**HEALTH_CARE, **TRIAGE, "legal_status": "private"},
        dpia=True,
        bases={"annex_iii_5d"},
        absent={"aia_27_fria", "aia_26_8", "aia_49_3"},
    ),
    s(
        "emergency triage in a private public-service hospital: FRIA case by case",
        "high",
        {**HEALTH_CARE, **TRIAGE, "legal_status": "private_public_service"},
        dpia=True,
        bases={"annex_iii_5d"},
        fria=True,
        flags={"private_public_service"},
        absent={"aia_49_3"},
    ),
    # --- Art 6(3) derogation
    s(
        "Art 6(3) derogation claimed, no profiling: not high-risk, to be confirmed",
        "minimal",
        {**HEALTH_CARE, **TRIAGE, "derogation": "preparatory", "profiling": False},
        dpia=True,
        flags={"derogation_claimed"},
        cites={"aia_6_3_vendor": "Art. 6(3), 6(4), 49(2)"},
        absent={"aia_26_1", "aia_27_fria"},
    ),
    s(
        "derogation claimed but the system profiles people: high-risk",
        "high",
        {**HEALTH_CARE, **TRIAGE, "derogation": "narrow_procedural", "profiling": True},
        dpia=True,
        bases={"annex_iii_5d"},
        fria=True,
        flags={"derogation_profiling", "public_authority", "unconfirmed_facts"},
        absent={"aia_6_3_vendor"},
    ),
    s(
        "in-house system under the derogation: the hospital registers it (49(2))",
        "minimal",
        {
            **HEALTH_CARE,
            **TRIAGE,
            "derogation": "detects_patterns",
            "profiling": False,
            "origin": "in_house",
        },
        dpia=True,
        roles=["provider", "deployer"],
        flags={"derogation_claimed"},
        cites={"aia_49_2": "Art. 6(4) et 49(2) ; annexe VIII, section B"},
    ),
    # --- Annex I through the MDR and the IVDR
    s(
        "CE-marked class IIa device: Annex I, 02/08/2028 moved from 02/08/2027, no FRIA",
        "high",
        {"medical_purpose": "yes", "regime": "ce_mdr", "mdr_class": "IIa"},
        bases={"annex_i_mdr"},
        cites={
            "aia_26_1": "Art. 26(1)",
            "mdr_certificate": "Art. 56 ; IVDR art. 51",
            "mdr_vigilance": "R5212-12, R5212-14, R5212-17",
            "csp_l4001_3_patient": "L4001-3, I",
            "csp_l4001_3_professionals": "L4001-3, II",
            "has_3_4_05": "Critère 3.4-05",
        },
        absent={"aia_27_fria", "aia_26_11", "aia_86_explanation", "has_3_4_06"},
        dates={"aia_26_1": (dt.date(2028, 8, 2), dt.date(2027, 8, 2))},
    ),
    s(
        "class III device",
        "high",
        {"medical_purpose": "yes", "regime": "ce_mdr", "mdr_class": "III"},
        bases={"annex_i_mdr"},
    ),
    s(
        "class I sterile or measuring device (notified body)",
        "high",
        {"medical_purpose": "yes", "regime": "ce_mdr", "mdr_class": "I_special"},
        bases={"annex_i_mdr"},
    ),
    s(
        "class I self-certified device: not high-risk",
        "minimal",
        {"medical_purpose": "yes", "regime": "ce_mdr", "mdr_class": "I"},
        absent={"aia_26_1"},
        cites={"mdr_vigilance": "R5212-12, R5212-14, R5212-17"},
    ),
    s(
        "IVD class C",
        "high",
        {"medical_purpose": "yes", "regime": "ce_ivdr", "ivd_class": "C"},
        bases={"annex_i_ivdr"},
    ),
    s(
        "IVD class A non-sterile: not high-risk",
        "minimal",
        {"medical_purpose": "yes", "regime": "ce_ivdr", "ivd_class": "A"},
        absent={"aia_26_1"},
    ),
    s(
        "in-house device (MDR 5(5)): not high-risk under 6(1), provider, to be confirmed",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "in_house",
            "software_function": "diagnosis_therapy",
            "severity": "serious",
            "shared_entities": False,
            "origin": "in_house",
        },
        roles=["provider", "deployer"],
        rule_11="IIb",
        flags={"in_house_device"},
        cites={
            "mdr_in_house_conditions": "Art. 5(5) ; MDCG 2023-1",
            "csp_l4001_3_explicability": "L4001-3, III et IV",
        },
        absent={"aia_9_risk", "aia_26_1"},
    ),
    s(
        "in-house device shared with another CHU of the group",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "in_house",
            "software_function": "monitoring",
            "shared_entities": True,
            "origin": "in_house",
        },
        roles=["provider", "deployer"],
        rule_11="IIa",
        flags={"in_house_device", "in_house_shared"},
    ),
    s(
        "not yet CE-marked, may cause death: class III suggested",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "not_marked",
            "software_function": "diagnosis_therapy",
            "severity": "death_irreversible",
            "origin": "in_house",
        },
        roles=["provider", "deployer"],
        rule_11="III",
        flags={"device_not_marked"},
        cites={"mdr_classification": "Art. 51, 52 ; annexe VIII, règle 11"},
    ),
    s(
        "severity unknown: the highest Rule 11 class (III) suggested, to confirm",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "not_marked",
            "software_function": "diagnosis_therapy",
            "severity": "unsure",
            "origin": "in_house",
        },
        roles=["provider", "deployer"],
        rule_11="III",
        flags={"device_not_marked", "unsure:severity"},
        cites={"mdr_classification": "Art. 51, 52 ; annexe VIII, règle 11"},
    ),
    s(
        "vital-parameter monitoring: class IIb suggested",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "not_marked",
            "software_function": "monitoring_vital",
            "origin": "in_house",
        },
        roles=["provider", "deployer"],
        rule_11="IIb",
        flags={"device_not_marked"},
    ),
    s(
        "other medical software: class I suggested",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "not_marked",
            "software_function": "other",
            "origin": "in_house",
        },
        roles=["provider", "deployer"],
        rule_11="I",
    ),
    s(
        "device status unknown: qualification to document, named for legal review",
        "minimal",
        {"medical_purpose": "unsure", "regime": "not_marked", "software_function": "other"},
        rule_11="I",
        flags={"unsure:medical_purpose"},
        cites={"mdr_qualification": "MDCG 2019-11 rév. 1 ; MDR art. 2(1)"},
        to_confirm={"mdr_qualification": {"medical_purpose"}},
    ),
    s(
        "CE-marked class IIa device retrained by the hospital: manufacturer and provider",
        "high",
        {
            **HEALTH_CARE,
            "medical_purpose": "yes",
            "regime": "ce_modified",
            "modified_class": "IIa",
            "origin": "vendor_modified",
            "own_name": True,
            "substantial_modification": "yes",
        },
        dpia=True,
        bases={"annex_i_modified"},
        roles=["provider", "deployer"],
        grounds={"device_modified", "modified_own_name", "own_name", "substantial_modification"},
        flags={"device_modified", "unconfirmed_facts"},
        cites={
            **PROVIDER,
            "mdr_16_manufacturer": "Art. 16(1) ; art. 5(5)",
            "mdr_vigilance": "R5212-12, R5212-14, R5212-17",
            "csp_l4001_3_explicability": "L4001-3, III et IV",
        },
        absent={"mdr_certificate"},
        dates={"aia_9_risk": (dt.date(2028, 8, 2), dt.date(2027, 8, 2))},
    ),
    s(
        "CE-marked class I device retrained: provider whatever the risk level",
        "minimal",
        {
            "medical_purpose": "yes",
            "regime": "ce_modified",
            "modified_class": "I",
            "origin": "vendor_modified",
            "own_name": False,
            "substantial_modification": "no",
        },
        roles=["provider", "deployer"],
        grounds={"device_modified"},
        flags={"device_modified", "unconfirmed_facts"},
        cites={"mdr_16_manufacturer": "Art. 16(1) ; art. 5(5)"},
        absent=set(PROVIDER) | {"mdr_certificate"},
    ),
    s(
        "device declared retrained but the system declared used as is: answers disagree",
        "minimal",
        {"medical_purpose": "yes", "regime": "ce_modified", "modified_class": "I"},
        roles=["provider", "deployer"],
        grounds={"device_modified"},
        flags={"device_modified", "modified_device_mismatch", "unconfirmed_facts"},
    ),
    s(
        "device class unknown: high-risk through Annex I as a precaution, to confirm",
        "high",
        {"medical_purpose": "yes", "regime": "ce_mdr", "mdr_class": "unsure"},
        bases={"annex_i_class_unknown"},
        flags={"unsure:mdr_class"},
        cites={"aia_26_1": "Art. 26(1)", "mdr_certificate": "Art. 56 ; IVDR art. 51"},
        to_confirm={"aia_26_1": {"mdr_class"}, "aia_26_12": {"mdr_class"}},
    ),
    s(
        "IVD class unknown",
        "high",
        {"medical_purpose": "yes", "regime": "ce_ivdr", "ivd_class": "unsure"},
        bases={"annex_i_class_unknown"},
        flags={"unsure:ivd_class"},
        to_confirm={"aia_26_6": {"ivd_class"}},
    ),
    s(
        "retrained device whose class is unknown",
        "high",
        {
            "medical_purpose": "yes",
            "regime": "ce_modified",
            "modified_class": "unsure",
            "origin": "vendor_modified",
            "own_name": True,
            "substantial_modification": "yes",
        },
        bases={"annex_i_class_unknown"},
        roles=["provider", "deployer"],
        flags={"device_modified", "unsure:modified_class", "unconfirmed_facts"},
        cites=PROVIDER,
        to_confirm={"aia_9_risk": {"modified_class"}, "mdr_16_manufacturer": set()},
    ),
    # --- Art 50 transparency
    s(
        "bought patient chatbot: 50(1) is the vendor's, checked by the hospital",
        "transparency",
        {"exposure": ["interacts"]},
        transparency={"art50_1"},
        cites={"aia_50_vendor": "Art. 50(1) et 50(2)"},
        absent={"aia_50_1"},
    ),
    s(
        "in-house patient chatbot on an LLM: provider under 50(1) and GPAI documentation",
        "transparency",
        {"technique": "llm", "origin": "gpai_app", "exposure": ["interacts", "generates"]},
        roles=["provider", "deployer"],
        grounds={"gpai_app"},
        transparency={"art50_1", "art50_2"},
        cites={
            "aia_50_1": "Art. 50(1) et 50(5)",
            "aia_50_2": "Art. 50(2)",
            "aia_gpai_documentation": "Art. 53(1)(b) ; annexe XII",
        },
        absent={"aia_50_vendor"},
    ),
    s(
        "exposure to emotion recognition (50(3))",
        "transparency",
        {"exposure": ["emotion_biometric"]},
        transparency={"art50_3"},
        cites={"aia_50_3": "Art. 50(3)"},
    ),
    s(
        "deep fakes (50(4))",
        "transparency",
        {"exposure": ["deep_fake"]},
        transparency={"art50_4"},
        cites={"aia_50_4": "Art. 50(4)"},
    ),
    s(
        "public-interest texts without editorial control (50(4))",
        "transparency",
        {"exposure": ["public_text"], "editorial_control": False},
        transparency={"art50_4"},
    ),
    s(
        "public-interest texts reviewed by an editor: no 50(4) duty",
        "minimal",
        {"exposure": ["public_text"], "editorial_control": True},
        absent={"aia_50_4"},
    ),
    # --- GPAI and roles (Art 25)
    s(
        "bought tool on a general-purpose model",
        "minimal",
        {"technique": "llm"},
        cites={"aia_gpai_documentation": "Art. 53(1)(b) ; annexe XII"},
    ),
    s(
        "fine-tuned general-purpose model: provider of the model? to be confirmed",
        "minimal",
        {"technique": "llm", "origin": "vendor_modified", "substantial_modification": "no"},
        flags={"gpai_fine_tuning"},
    ),
    s(
        "rebranded high-risk system: provider (25(1)(a))",
        "high",
        {**HEALTH_CARE, **TRIAGE, "own_name": True, "legal_status": "private"},
        dpia=True,
        bases={"annex_iii_5d"},
        roles=["provider", "deployer"],
        cites={**PROVIDER, "aia_49_1": "Art. 49(1) ; annexe VIII, section A"},
    ),
    s(
        "rebranded system that is not high-risk: still a deployer",
        "minimal",
        {"own_name": True},
        absent=set(PROVIDER),
    ),
    s(
        "substantial modification of a high-risk system (25(1)(b))",
        "high",
        {
            **HEALTH_CARE,
            **TRIAGE,
            "origin": "vendor_modified",
            "substantial_modification": "yes",
            "legal_status": "private",
        },
        dpia=True,
        bases={"annex_iii_5d"},
        roles=["provider", "deployer"],
        cites=PROVIDER,
    ),
    s(
        "modification not settled with the vendor: provider as a precaution, to confirm",
        "high",
        {
            **HEALTH_CARE,
            **TRIAGE,
            "origin": "vendor_modified",
            "substantial_modification": "unsure",
            "legal_status": "private",
        },
        dpia=True,
        bases={"annex_iii_5d"},
        roles=["provider", "deployer"],
        grounds={"substantial_modification"},
        flags={"unsure:substantial_modification"},
        cites=PROVIDER,
        to_confirm={code: {"substantial_modification"} for code in PROVIDER},
    ),
    s(
        "unmodified vendor product: deployer only",
        "minimal",
        {"origin": "vendor", "own_name": False, "purpose_change": False},
        grounds=set(),
        absent=set(PROVIDER) | {"mdr_16_manufacturer"},
    ),
    s(
        "in-house model, not high-risk: provider (Art 3(3), 3(11))",
        "minimal",
        {"origin": "in_house"},
        roles=["provider", "deployer"],
        grounds={"in_house"},
        absent=set(PROVIDER),
    ),
    s(
        "vendor model retrained and put into service under the hospital's name: provider",
        "minimal",
        {"origin": "vendor_modified", "own_name": True, "substantial_modification": "no"},
        roles=["provider", "deployer"],
        grounds={"modified_own_name"},
        absent=set(PROVIDER),
    ),
    s(
        "vendor model retrained beyond the planned changes, not high-risk: provider, to confirm",
        "minimal",
        {"origin": "vendor_modified", "own_name": False, "substantial_modification": "yes"},
        roles=["provider", "deployer"],
        grounds={"modified_substantially"},
        flags={"unconfirmed_facts"},
    ),
    s(
        "vendor model retrained within the vendor's pre-determined changes: deployer",
        "minimal",
        {"origin": "vendor_modified", "own_name": False, "substantial_modification": "no"},
        grounds=set(),
    ),
    s(
        "change of purpose into a high-risk use (25(1)(c))",
        "high",
        {**HEALTH_CARE, **TRIAGE, "purpose_change": True, "legal_status": "private"},
        dpia=True,
        bases={"annex_iii_5d"},
        roles=["provider", "deployer"],
        grounds={"purpose_change"},
        cites=PROVIDER,
    ),
    s(
        "in-house sepsis model on a high-risk use: provider and deployer",
        "high",
        {**TRIAGE, "origin": "in_house", **HEALTH_CARE},
        bases={"annex_iii_5d"},
        roles=["provider", "deployer"],
        fria=True,
        dpia=True,
        flags={"public_authority", "unconfirmed_facts"},
        cites={**PROVIDER, **DEPLOYER_26},
    ),
    # --- data, hosting, research
    s(
        "data-platform project (health data warehouse in the cloud, no HDS)",
        "not_ai",
        {
            "technique": "rules_only",
            **HEALTH_CARE,
            "data_use": ["warehouse", "research_reuse"],
            "hosting": "cloud_fr",
            "hds_certified": False,
        },
        roles=[],
        dpia=True,
        flags={"hds_missing"},
        cites={
            "cnil_warehouse": "Délibération n° 2021-118",
            "cnil_mr004": "Méthodologie de référence MR-004",
            "hds_hosting": "L1111-8",
        },
    ),
    s(
        "health data hosted outside the EU by an HDS host",
        "minimal",
        {**HEALTH_CARE, "hosting": "outside_eu", "hds_certified": True},
        dpia=True,
        cites={"gdpr_transfers": "Chapitre V (art. 44 à 49)", "hds_hosting": "L1111-8"},
    ),
    s(
        "solely automated decisions with scoring: Art 22 and 35(3)(a)",
        "minimal",
        {
            **HEALTH_CARE,
            "dpia_criteria": ["scoring"],
            "data_use": ["management"],
            "solely_automated": "yes",
        },
        dpia=True,
        cites={"gdpr_22_human": "Art. 22(2) à 22(4)"},
    ),
    s(
        "staff personal data, two EDPB criteria: DPIA",
        "minimal",
        {
            "personal_data": "personal",
            "subjects": ["staff"],
            "data_use": ["management"],
            "dpia_criteria": ["large_scale", "innovative"],
            "solely_automated": "no",
            "hosting": "cloud_eu",
        },
        dpia=True,
        cites={"gdpr_30_record": "Art. 30(1)", "gdpr_legal_basis": "Art. 6(1)"},
        absent={"hds_hosting", "gdpr_9_exception"},
    ),
    s(
        "uses about people but no personal data declared: check the data answer",
        "high",
        {"uses": ["recruitment"], "derogation": "none", "legal_status": "private"},
        bases={"annex_iii_4a"},
        flags={"persons_without_data"},
        absent={"gdpr_30_record"},
    ),
    s(
        "technique unknown: treated as AI, AI Act duties to confirm",
        "minimal",
        {"technique": "unsure"},
        flags={"unsure:technique"},
        cites={"aia_4_literacy": "Art. 4 (modifié par 2026/1744)"},
        absent={"aia_gpai_documentation"},
        to_confirm={"aia_4_literacy": {"technique"}, "has_3_1_06": {"technique"}},
    ),
    s(
        "exposure unknown: every Art 50 duty kept, to confirm",
        "transparency",
        {"exposure": ["unsure"]},
        transparency={"art50_1", "art50_2", "art50_3", "art50_4"},
        flags={"unsure:exposure"},
        cites={
            "aia_50_vendor": "Art. 50(1) et 50(2)",
            "aia_50_3": "Art. 50(3)",
            "aia_50_4": "Art. 50(4)",
        },
        to_confirm={
            "aia_50_vendor": {"exposure"},
            "aia_50_3": {"exposure"},
            "aia_50_4": {"exposure"},
        },
    ),
    s(
        "data categories unknown: treated as health data, GDPR duties to confirm",
        "minimal",
        {**HEALTH_CARE, "personal_data": "unsure"},
        dpia=True,
        flags={"unsure:personal_data"},
        cites={"gdpr_9_exception": "Art. 9(2)(h), 9(2)(j)", "gdpr_30_record": "Art. 30(1)"},
        to_confirm={
            "gdpr_9_exception": {"personal_data"},
            "gdpr_30_record": {"personal_data"},
            "gdpr_35_dpia": {"personal_data"},
        },
    ),
    s(
        "full automation unknown: Art 22 safeguards kept, to confirm",
        "minimal",
        {**HEALTH_CARE, "solely_automated": "unsure", "dpia_criteria": ["scoring"]},
        dpia=True,
        flags={"unsure:solely_automated"},
        cites={"gdpr_22_human": "Art. 22(2) à 22(4)"},
        to_confirm={"gdpr_22_human": {"solely_automated"}, "gdpr_35_dpia": set()},
    ),
    s(
        "hosting unknown with health data: HDS and transfers kept, to confirm",
        "minimal",
        {**HEALTH_CARE, "hosting": "unsure"},
        dpia=True,
        flags={"unsure:hosting"},
        cites={"hds_hosting": "L1111-8", "gdpr_transfers": "Chapitre V (art. 44 à 49)"},
        to_confirm={"hds_hosting": {"hosting"}, "gdpr_transfers": {"hosting"}},
    ),
    s(
        "DPIA criteria: « aucun », personal data but no DPIA",
        "minimal",
        {
            "personal_data": "personal",
            "subjects": ["staff"],
            "data_use": ["management"],
            "dpia_criteria": ["none"],
            "solely_automated": "no",
            "hosting": "on_premises",
        },
        dpia=False,
        cites={"gdpr_30_record": "Art. 30(1)"},
        absent={"gdpr_35_dpia"},
    ),
    s(
        "personal data, one criterion: no DPIA",
        "minimal",
        {
            "personal_data": "personal",
            "subjects": ["staff"],
            "data_use": ["management"],
            "dpia_criteria": ["innovative"],
            "solely_automated": "no",
            "hosting": "on_premises",
        },
        dpia=False,
        absent={"gdpr_35_dpia"},
    ),
]


def evaluate(answers):
    book = rulebook()
    return book.describe(book.evaluate(book.clean(answers))), book.evaluate(book.clean(answers))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[sc.name for sc in SCENARIOS])
def test_scenario(scenario: Scenario):
    described, result = evaluate(scenario.answers)
    assert Qualification.risk_level_of(result) == scenario.risk
    assert {b["code"] for b in described["high_risk_bases"]} == scenario.bases
    assert described["high_risk"] == bool(scenario.bases)
    assert described["roles"] == scenario.roles
    assert {p["code"] for p in described["prohibited"]} == scenario.prohibited
    assert {t["code"] for t in described["transparency"]} == scenario.transparency
    assert {f["code"] for f in described["flags"]} == scenario.flags
    assert described["fria_required"] == scenario.fria
    assert described["dpia_required"] == scenario.dpia
    assert described["rule_11_class"] == scenario.rule_11
    if scenario.grounds or "origin" in scenario.answers and scenario.roles == ["deployer"]:
        assert {g["code"] for g in described["provider_grounds"]} == scenario.grounds
    answered_unsure = {
        f["question"] for f in described["flags"] if f["code"].startswith(UNSURE_FLAG)
    }
    assert {u["question"] for u in described["undetermined"]} == answered_unsure
    to_confirm = {
        o["code"]: {q["question"] for q in o["to_confirm"]} for o in described["obligations"]
    }
    for code, questions in scenario.to_confirm.items():
        assert to_confirm[code] == questions, code
    if not answered_unsure:
        assert not any(to_confirm.values())
    cited = {o["code"]: o["cite"]["ref"] for o in described["obligations"]}
    for code, ref in scenario.cites.items():
        assert cited.get(code) == ref, code
    assert not (scenario.absent & cited.keys()), scenario.absent & cited.keys()
    dates = {o["code"]: o["date"] for o in described["obligations"]}
    for code, (in_force, original) in scenario.dates.items():
        assert dates[code]["date"] == in_force
        assert dates[code]["original_date"] == original
        if original:
            assert "2026/1744" in dates[code]["amended_by"]


def test_there_are_at_least_thirty_scenarios_covering_every_basis():
    assert len(SCENARIOS) >= 30
    book = rulebook()
    covered_bases = set().union(*(sc.bases for sc in SCENARIOS))
    assert covered_bases == {
        i["code"] for i in book.data["annex_i_routes"] + book.data["annex_iii_routes"]
    }
    covered_bans = set().union(*(sc.prohibited for sc in SCENARIOS))
    assert covered_bans == {i["code"] for i in book.data["prohibited_practices"]}
    covered_50 = set().union(*(sc.transparency for sc in SCENARIOS))
    assert covered_50 == {i["code"] for i in book.data["transparency_duties"]}
    covered_flags = set().union(*(sc.flags for sc in SCENARIOS))
    unsure_flags = {
        UNSURE_FLAG + q for q, question in book.questions.items() if "unsure_means" in question
    }
    assert (
        covered_flags
        == {f["code"] for f in book.data["flags"]} | {"unconfirmed_facts"} | unsure_flags
    )
    covered_grounds = set().union(*(sc.grounds for sc in SCENARIOS))
    assert covered_grounds == {i["code"] for i in book.data["provider_grounds"]}


def test_every_obligation_is_reached_by_some_scenario():
    reached = set()
    for sc in SCENARIOS:
        _, result = evaluate(sc.answers)
        reached |= {o["code"] for o in result["obligations"]}
    assert reached == set(rulebook().obligations)


def test_unconfirmed_items_are_shown_as_unconfirmed():
    described, _ = evaluate({**BASE, **TRIAGE})
    statuses = {o["code"]: o["status"] for o in described["obligations"]}
    assert statuses["aia_49_3"] == "unconfirmed" and statuses["aia_26_8"] == "unconfirmed"
    assert statuses["aia_26_1"] == "confirmed"
    date = next(o["date"] for o in described["obligations"] if o["code"] == "aia_26_1")
    assert date["status"] == "secondary"  # the omnibus date comes from secondary sources
