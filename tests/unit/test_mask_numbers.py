"""Long numbers in free text (a note on a refused sale) are masked for display."""

from shop.privacy import mask_numbers_in


def test_a_phone_in_a_note_keeps_its_ends_only():
    assert mask_numbers_in("退给买家，电话 13812345678。") == "退给买家，电话 138****5678。"


def test_an_id_number_and_several_numbers_are_all_masked():
    masked = mask_numbers_in("身份证 460028199001011234 卡号 6222020200112233445")
    assert "199001011" not in masked and "02002001122" not in masked
    assert masked.startswith("身份证 460") and masked.endswith("3445")


def test_amounts_and_short_numbers_are_left_alone():
    assert mask_numbers_in("退回 ¥144.00，共 8 瓶，单号 123456") == "退回 ¥144.00，共 8 瓶，单号 123456"
    assert mask_numbers_in("") == "" and mask_numbers_in(None) == ""
