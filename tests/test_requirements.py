"""The cells that carry a notice's own requirement: 自荐 reviewers (most-cas 附件1 三、3), 封面图."""

from __future__ import annotations

import pytest

from validators.requirements import check_cover_name, check_reviewers, is_senior_title
from validators.text import Invalid, Valid


@pytest.mark.parametrize(
    "title",
    ["研究员", "副研究员", "教授", "副教授", "高级工程师", "正高级工程师", "教授级高级工程师",
     "副主任医师", "主任医师", "高级教师", "正高级教师", "副编审", "编审", "主任记者", "研究馆员", "副高"],
)  # fmt: skip
def test_titles_of_fugao_and_above_are_senior(title: str) -> None:
    assert is_senior_title(f"张三 {title}")


@pytest.mark.parametrize(
    "title", ["助理研究员", "讲师", "工程师", "主治医师", "中级", "助教", "实习研究员", "一级教师"]
)
def test_titles_below_fugao_are_not(title: str) -> None:
    assert not is_senior_title(f"张三 {title}")


def test_experts_need_two_people_with_senior_titles_and_their_names() -> None:
    assert check_reviewers("张三 研究员、李四 副教授", experts=True) == Valid("张三 研究员、李四 副教授")
    assert check_reviewers("张三研究员，李四副主任医师", experts=True) == Valid("张三研究员、李四副主任医师")
    one = check_reviewers("张三 研究员", experts=True)
    assert isinstance(one, Invalid) and (one.code, one.params["count"]) == ("reviewers_count", 1)
    junior = check_reviewers("张三 研究员、李四 讲师", experts=True)
    assert isinstance(junior, Invalid) and (junior.code, junior.params["who"]) == (
        "reviewer_title",
        "李四 讲师",
    )
    nameless = check_reviewers("研究员、副教授", experts=True)
    assert isinstance(nameless, Invalid) and nameless.code == "reviewer_name"
    twice = check_reviewers("张三 研究员、张三 教授", experts=True)
    assert isinstance(twice, Invalid) and twice.code == "reviewers_same"


def test_a_unit_is_a_name_not_a_link() -> None:
    assert check_reviewers("中国科学院物理研究所", experts=False) == Valid("中国科学院物理研究所")
    link = check_reviewers("https://example.cn/unit", experts=False)
    assert isinstance(link, Invalid) and link.code == "name_is_url"
    assert isinstance(check_reviewers("  ", experts=False), Invalid)


@pytest.mark.parametrize("name", ["封面.jpg", "cover.PNG", "水的三态变化 封面.jpeg", "封面.webp"])
def test_a_cover_is_an_image_file_name(name: str) -> None:
    assert check_cover_name(name) == Valid(name)


@pytest.mark.parametrize("name", ["封面", "有", "封面.mp4", "https://pan.baidu.com/s/1abc.jpg", "封面.pdf"])
def test_anything_else_is_not_a_cover(name: str) -> None:
    result = check_cover_name(name)
    assert isinstance(result, Invalid) and result.code == "cover_name"
